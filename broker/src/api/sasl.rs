//! SaslHandshake and SaslAuthenticate reaching the dispatcher: the connection layer
//! (`security::sasl`) runs authentication, so these arrive only on a listener without SASL or
//! on an authenticated connection whose client does not re-authenticate. Kafka's `KafkaApis`
//! answers them with ILLEGAL_SASL_STATE, and so does this.

use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::ResponseError;

use super::{str_bytes, RequestContext};
use crate::error::Result;
use crate::Broker;

pub async fn handshake(
    _broker: &Broker,
    _ctx: &RequestContext,
    _request: SaslHandshakeRequest,
) -> Result<SaslHandshakeResponse> {
    Ok(SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code()))
}

pub async fn authenticate(
    _broker: &Broker,
    _ctx: &RequestContext,
    _request: SaslAuthenticateRequest,
) -> Result<SaslAuthenticateResponse> {
    Ok(SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::IllegalSaslState.code())
        .with_error_message(Some(str_bytes(
            "SaslAuthenticate request received after successful authentication",
        ))))
}
