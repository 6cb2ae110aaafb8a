//! ApiVersions: the API keys and version ranges we serve, from the dispatch table.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::ResponseError;

use super::RequestContext;
use crate::error::Result;
use crate::server::dispatch::ROUTES;
use crate::Broker;

/// Answers with every route's advertised range.
pub async fn handle(
    _broker: &Broker,
    ctx: &RequestContext,
    _request: ApiVersionsRequest,
) -> Result<ApiVersionsResponse> {
    tracing::trace!(client = ?ctx.client_id, version = ctx.version, "api versions");
    Ok(ApiVersionsResponse::default().with_api_keys(api_keys()))
}

/// The answer to an ApiVersions request newer than ours: encoded as v0, with our ranges, so the
/// client can retry at a version we know (KIP-511).
pub fn unsupported() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys())
}

fn api_keys() -> Vec<ApiVersion> {
    ROUTES
        .iter()
        .map(|r| {
            ApiVersion::default()
                .with_api_key(r.key as i16)
                .with_min_version(r.advertised_min)
                .with_max_version(r.max)
        })
        .collect()
}
