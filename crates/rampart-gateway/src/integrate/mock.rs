//! Mock integration: a configured status, headers and body.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};

use crate::body::{full, GatewayBody};

#[derive(Debug, Clone)]
pub struct MockIntegration {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl MockIntegration {
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn respond(&self) -> Response<GatewayBody> {
        let mut r = Response::new(full(self.body.clone()));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers.clone();
        r
    }
}
