//! `id_verifications`: one row per submitted document, and its review.

use crate::schema::{id_verifications, users};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{IdVerificationId, Pagination, UserId};

domain::string_enum! {
    /// Where the review of one submission stands (`id_verifications.status`).
    pub enum ReviewStatus (field = "status") {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

domain::string_enum! {
    /// The kinds of ID document accepted.
    pub enum DocumentType (field = "documentType") {
        DriversLicense => "drivers_license",
        StateId => "state_id",
        Passport => "passport",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = id_verifications)]
pub struct VerificationRow {
    pub id: IdVerificationId,
    pub user_id: UserId,
    pub document_type: DocumentType,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: ReviewStatus,
    pub reason: Option<String>,
    /// `manual_review`, or the provider's name.
    pub decided_by: Option<String>,
    pub reviewer_id: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Who a submission says they are, from their account: what a reviewer compares the document
/// with.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Customer {
    pub full_name: String,
    pub email: String,
    pub date_of_birth: NaiveDate,
}

/// A submission with its customer, as the review queue shows it.
#[derive(Debug, Clone)]
pub struct Submission {
    pub verification: VerificationRow,
    pub customer: Customer,
}

impl From<(VerificationRow, Customer)> for Submission {
    fn from((verification, customer): (VerificationRow, Customer)) -> Self {
        Self {
            verification,
            customer,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = id_verifications)]
pub struct NewVerification<'a> {
    pub id: IdVerificationId,
    pub user_id: UserId,
    pub document_type: DocumentType,
    pub object_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewVerification<'_>,
) -> QueryResult<VerificationRow> {
    diesel::insert_into(id_verifications::table)
        .values(new)
        .returning(VerificationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn latest_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .filter(id_verifications::user_id.eq(user_id))
        .order((
            id_verifications::created_at.desc(),
            id_verifications::id.desc(),
        ))
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: IdVerificationId,
) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .find(id)
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(
    conn: &mut AsyncPgConnection,
    id: IdVerificationId,
) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .find(id)
        .for_update()
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One submission with its customer.
pub async fn find_submission(
    conn: &mut AsyncPgConnection,
    id: IdVerificationId,
) -> QueryResult<Option<Submission>> {
    id_verifications::table
        .inner_join(users::table)
        .filter(id_verifications::id.eq(id))
        .select((VerificationRow::as_select(), Customer::as_select()))
        .first::<(VerificationRow, Customer)>(conn)
        .await
        .optional()
        .map(|found| found.map(Submission::from))
}

/// Filters of the review queue.
#[derive(Debug, Default)]
pub struct QueueFilter {
    pub status: Option<ReviewStatus>,
    /// Matches part of the customer's name or email, case-insensitively.
    pub search: Option<String>,
}

/// Oldest first: the review queue is worked in arrival order. Each with its customer, and the
/// total count of matches.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &QueueFilter,
    page: &Pagination,
) -> QueryResult<(Vec<Submission>, u64)> {
    let query = || {
        let mut query = id_verifications::table
            .inner_join(users::table)
            .into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(id_verifications::status.eq(status));
        }
        if let Some(search) = &filter.search {
            let pattern = format!("%{}%", super::users::escape_like(search));
            query = query.filter(
                users::full_name
                    .ilike(pattern.clone())
                    .or(users::email.ilike(pattern)),
            );
        }
        query
    };
    let total: i64 = query().count().get_result(conn).await?;
    let rows = query()
        .order((id_verifications::created_at.asc(), id_verifications::id))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select((VerificationRow::as_select(), Customer::as_select()))
        .load::<(VerificationRow, Customer)>(conn)
        .await?;
    let rows = rows.into_iter().map(Submission::from).collect();
    Ok((rows, u64::try_from(total).unwrap_or_default()))
}

/// A decision on a pending verification, as recorded on its row.
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    pub status: ReviewStatus,
    pub reason: Option<&'a str>,
    pub decided_by: &'a str,
    pub reviewer_id: Option<UserId>,
}

/// Records a decision on a pending verification.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    id: IdVerificationId,
    decided: Decided<'_>,
) -> QueryResult<VerificationRow> {
    diesel::update(id_verifications::table.find(id))
        .set((
            id_verifications::status.eq(decided.status),
            id_verifications::reason.eq(decided.reason),
            id_verifications::decided_by.eq(decided.decided_by),
            id_verifications::reviewer_id.eq(decided.reviewer_id),
            id_verifications::decided_at.eq(diesel::dsl::now),
        ))
        .returning(VerificationRow::as_returning())
        .get_result(conn)
        .await
}
