//! `users`: the account row (role, ID status, account status as enums) and its queries.

use crate::schema::users;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{Pagination, Role, UserId};

domain::string_enum! {
    /// Where the user's ID verification stands (`users.id_status`): the status of their
    /// latest submission, or `not_submitted`.
    pub enum IdStatus (field = "idVerificationStatus") {
        NotSubmitted => "not_submitted",
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

domain::string_enum! {
    /// Whether the account may sign in (`users.status`).
    pub enum AccountStatus (field = "status") {
        Active => "active",
        /// Suspended by an admin: no sign-in, no session.
        Suspended => "suspended",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub phone: String,
    pub date_of_birth: NaiveDate,
    pub role: Role,
    pub id_status: IdStatus,
    pub status: AccountStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version access tokens are issued at; raised by the database whenever the role,
    /// status, password or email changes (migration `token_version`).
    pub token_version: i64,
    /// The latest successful login; `None` until the first.
    pub last_login_at: Option<DateTime<Utc>>,
    /// FS Coins (points), as payments' ledger last announced them (`rewards.changed`).
    pub rewards_balance: i64,
    /// The ledger sequence `rewards_balance` came from; 0 before any.
    pub rewards_sequence: i64,
}

impl UserRow {
    pub fn is_suspended(&self) -> bool {
        self.status == AccountStatus::Suspended
    }

    pub fn id_verified(&self) -> bool {
        self.id_status == IdStatus::Approved
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub full_name: &'a str,
    pub phone: &'a str,
    pub date_of_birth: NaiveDate,
    pub role: Role,
}

pub async fn insert(conn: &mut AsyncPgConnection, user: NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The row, locked until the transaction ends, so concurrent changes apply one by one.
pub async fn lock(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .for_update()
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether an account has `email` (already lower-cased by `Email::parse`).
pub async fn email_taken(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::email.eq(email)),
    ))
    .get_result(conn)
    .await
}

pub async fn any_admin(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq(Role::Admin)),
    ))
    .get_result(conn)
    .await
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges<'a> {
    pub email: Option<&'a str>,
    pub full_name: Option<&'a str>,
    pub phone: Option<&'a str>,
}

impl ProfileChanges<'_> {
    /// The API names of the fields that change, in a fixed order.
    pub fn fields(&self) -> Vec<String> {
        [
            ("fullName", self.full_name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
        ]
        .into_iter()
        .filter(|(_, changes)| *changes)
        .map(|(field, _)| field.to_owned())
        .collect()
    }
}

pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: &ProfileChanges<'_>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((changes, bumped()))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: UserId,
    hash: &str,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
}

/// Records a successful login now; answers the row with it. Not a change of the account: the
/// version and `updated_at` stay.
pub async fn record_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Sets the rewards balance from the ledger entry `sequence`, unless an entry as new or newer
/// was applied already; answers whether it was applied (false too for an unknown user).
pub async fn set_rewards(
    conn: &mut AsyncPgConnection,
    id: UserId,
    balance: i64,
    sequence: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(id)
            .filter(users::rewards_sequence.lt(sequence)),
    )
    .set((
        users::rewards_balance.eq(balance),
        users::rewards_sequence.eq(sequence),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    id: UserId,
    role: Role,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((users::role.eq(role), bumped()))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: UserId,
    status: AccountStatus,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((users::status.eq(status), bumped()))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_id_status(
    conn: &mut AsyncPgConnection,
    id: UserId,
    status: IdStatus,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set((users::id_status.eq(status), bumped()))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

type Bumped = (
    diesel::dsl::Eq<
        users::version,
        diesel::dsl::Add<users::version, diesel::dsl::AsExprOf<i64, diesel::sql_types::BigInt>>,
    >,
    diesel::dsl::Eq<users::updated_at, diesel::dsl::now>,
);

/// Every change bumps the version user events carry, so read models drop stale events.
fn bumped() -> Bumped {
    (
        users::version.eq(users::version + 1i64),
        users::updated_at.eq(diesel::dsl::now),
    )
}

/// Filters of the admin user list.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// Matches part of the email or of the name, case-insensitively.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub status: Option<AccountStatus>,
}

/// Newest first, with the total count of matches.
pub async fn search(
    conn: &mut AsyncPgConnection,
    filter: &UserFilter,
    page: &Pagination,
) -> QueryResult<(Vec<UserRow>, u64)> {
    let query = || {
        let mut query = users::table.into_boxed();
        if let Some(search) = &filter.search {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            query = query.filter(
                users::email
                    .like(pattern.clone())
                    .or(
                        diesel::dsl::sql::<diesel::sql_types::Bool>("lower(full_name) LIKE ")
                            .bind::<diesel::sql_types::Text, _>(pattern),
                    ),
            );
        }
        if let Some(role) = filter.role {
            query = query.filter(users::role.eq(role));
        }
        if let Some(status) = filter.status {
            query = query.filter(users::status.eq(status));
        }
        query
    };
    let total: i64 = query().count().get_result(conn).await?;
    let rows = query()
        .order((users::created_at.desc(), users::id))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(UserRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, u64::try_from(total).unwrap_or_default()))
}

/// `%` and `_` in user input match themselves.
pub(crate) fn escape_like(input: &str) -> String {
    input
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The user's current token version (see [`UserRow::token_version`]).
pub async fn token_version(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<i64>> {
    users::table
        .find(id)
        .select(users::token_version)
        .first(conn)
        .await
        .optional()
}
