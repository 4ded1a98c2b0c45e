//! The real provider: Stripe through async-stripe (only the customer, payment method,
//! PaymentIntent and refund resources are compiled in), sent with our [`CappedClient`] so
//! that Stripe's answers are read with a size cap. The API base URL is configurable so tests
//! point it at a local stub.

use super::stripe_client::CappedClient;
use super::{
    AttachedMethod, CardDetails, Confirm, Intent, IntentRequest, IntentStatus, MethodSource,
    PaymentProvider, ProviderError,
};
use async_trait::async_trait;
use domain::UserId;
use std::collections::HashMap;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::{CreateCustomer, ListCustomer};
use stripe_core::payment_intent::{CancelPaymentIntent, CreatePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_payment::payment_method::{
    AttachPaymentMethod, CreatePaymentMethod, CreatePaymentMethodCard,
    CreatePaymentMethodTokenParams, CreatePaymentMethodType, DetachPaymentMethod,
};
use stripe_shared::{ApiErrors, ApiErrorsCode, ApiErrorsType, PaymentIntent, PaymentIntentStatus};

pub struct StripeProvider {
    client: CappedClient,
}

impl StripeProvider {
    /// A client for `secret_key`, talking to `api_base` when given (a stub in tests).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, String> {
        Ok(Self::with_client(CappedClient::new(secret_key, api_base)?))
    }

    /// With `client` (tests set its cap).
    pub const fn with_client(client: CappedClient) -> Self {
        Self { client }
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, ProviderError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| ProviderError::InvalidRequest(e.to_string()))
}

/// Stripe's own refusals are the request's fault; its outages and rate limits are not.
fn provider_error(error: StripeError) -> ProviderError {
    match error {
        StripeError::Stripe(api, status) if status < 500 && status != 429 => {
            ProviderError::InvalidRequest(
                api.message
                    .clone()
                    .unwrap_or_else(|| format!("Stripe refused the request ({status})")),
            )
        }
        other => ProviderError::Unavailable(other.to_string()),
    }
}

fn card(method: &stripe_shared::PaymentMethod) -> Result<CardDetails, ProviderError> {
    let card = method
        .card
        .as_ref()
        .ok_or_else(|| ProviderError::InvalidRequest("The payment method is not a card.".into()))?;
    Ok(CardDetails {
        brand: card.brand.clone(),
        last_four: card.last4.clone(),
        exp_month: i16::try_from(card.exp_month).unwrap_or(0),
        exp_year: i16::try_from(card.exp_year).unwrap_or(0),
    })
}

fn decline(error: Option<&ApiErrors>) -> IntentStatus {
    let decline_code = error
        .and_then(|e| e.decline_code.clone())
        .or_else(|| error.and_then(|e| e.code.as_ref().map(|c| c.as_str().to_owned())))
        .unwrap_or_else(|| "generic_decline".into());
    let message = error
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| "Your card was declined.".into());
    IntentStatus::Failed {
        decline_code,
        message,
    }
}

fn intent(pi: &PaymentIntent) -> Intent {
    let status = match &pi.status {
        PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
        PaymentIntentStatus::RequiresConfirmation => IntentStatus::RequiresConfirmation,
        PaymentIntentStatus::Canceled => IntentStatus::Canceled,
        PaymentIntentStatus::RequiresPaymentMethod => decline(pi.last_payment_error.as_deref()),
        // Requires action, processing, capture: the outcome arrives by webhook.
        _ => IntentStatus::RequiresAction,
    };
    Intent {
        id: pi.id.as_str().to_owned(),
        status,
        client_secret: pi.client_secret.clone().unwrap_or_default(),
    }
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn ping(&self) -> Result<(), ProviderError> {
        ListCustomer::new()
            .limit(1)
            .send(&self.client)
            .await
            .map_err(provider_error)?;
        Ok(())
    }

    async fn create_customer(&self, user_id: UserId) -> Result<String, ProviderError> {
        let customer = CreateCustomer::new()
            .metadata(HashMap::from([("userId".to_owned(), user_id.to_string())]))
            .customize()
            .request_strategy(idempotent(&format!("customer:{user_id}"))?)
            .send(&self.client)
            .await
            .map_err(provider_error)?;
        Ok(customer.id.as_str().to_owned())
    }

    async fn attach_payment_method(
        &self,
        customer: &str,
        source: &MethodSource,
    ) -> Result<AttachedMethod, ProviderError> {
        let id = match source {
            MethodSource::PaymentMethod(id) => id.clone(),
            // A wallet token becomes a card PaymentMethod first.
            MethodSource::WalletToken(token) => CreatePaymentMethod::new()
                .type_(CreatePaymentMethodType::Card)
                .card(CreatePaymentMethodCard::TokenParams(
                    CreatePaymentMethodTokenParams::new(token.clone()),
                ))
                .send(&self.client)
                .await
                .map_err(provider_error)?
                .id
                .as_str()
                .to_owned(),
        };
        let method = AttachPaymentMethod::new(id.as_str())
            .customer(customer)
            .send(&self.client)
            .await
            .map_err(provider_error)?;
        Ok(AttachedMethod {
            id: method.id.as_str().to_owned(),
            card: card(&method)?,
        })
    }

    async fn detach_payment_method(&self, payment_method: &str) -> Result<(), ProviderError> {
        match DetachPaymentMethod::new(payment_method)
            .send(&self.client)
            .await
        {
            Ok(_) => Ok(()),
            // Already gone is what we wanted.
            Err(StripeError::Stripe(api, _))
                if api.code == Some(ApiErrorsCode::ResourceMissing) =>
            {
                Ok(())
            }
            Err(err) => Err(provider_error(err)),
        }
    }

    async fn create_payment_intent(
        &self,
        request: &IntentRequest<'_>,
    ) -> Result<Intent, ProviderError> {
        let mut create =
            CreatePaymentIntent::new(request.amount_cents, stripe_types::Currency::USD)
                .customer(request.customer)
                .payment_method_types(vec!["card".to_owned()])
                .metadata(HashMap::from([(
                    "order_id".to_owned(),
                    request.order_id.to_string(),
                )]));
        if let Some(method) = request.payment_method {
            create = create.payment_method(method);
        }
        if request.confirm == Confirm::Now {
            create = create.confirm(true);
        }
        let sent = create
            .customize()
            .request_strategy(idempotent(request.idempotency_key)?)
            .send(&self.client)
            .await;
        match sent {
            Ok(pi) => Ok(intent(&pi)),
            // A declined card comes back as a 402 card error carrying the PaymentIntent.
            Err(StripeError::Stripe(api, 402)) if api.type_ == ApiErrorsType::CardError => {
                let Some(pi) = api.payment_intent.as_ref() else {
                    return Err(ProviderError::InvalidRequest(
                        api.message
                            .clone()
                            .unwrap_or_else(|| "Your card was declined.".into()),
                    ));
                };
                Ok(Intent {
                    id: pi.id.as_str().to_owned(),
                    status: decline(Some(&api)),
                    client_secret: pi.client_secret.clone().unwrap_or_default(),
                })
            }
            Err(err) => Err(provider_error(err)),
        }
    }

    async fn cancel_payment_intent(&self, id: &str) -> Result<(), ProviderError> {
        CancelPaymentIntent::new(id)
            .send(&self.client)
            .await
            .map_err(provider_error)?;
        Ok(())
    }

    async fn refund(
        &self,
        payment_intent: &str,
        amount_cents: i64,
        idempotency_key: &str,
    ) -> Result<String, ProviderError> {
        let refund = CreateRefund::new()
            .payment_intent(payment_intent)
            .amount(amount_cents)
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(provider_error)?;
        Ok(refund.id.as_str().to_owned())
    }
}
