//! octocrab's transport: the program's one reqwest client as a tower `Service`, so the GitHub
//! API goes through the same TLS (rustls, compiled-in webpki roots), DNS (hickory: a static
//! glibc binary cannot use NSS), user agent, timeouts and redirect rule
//! ([`crate::http::redirect`]) as every other request, and octocrab's own hyper connector
//! (getaddrinfo, native roots) is never built.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::Limited;
use octocrab::OctoBody;
use reqwest::ResponseBuilderExt as _;

use crate::http::BodyKind;

/// What an answer's body may hold at most, whoever reads it: a backstop behind the bounded
/// reader ([`crate::http::read_json`], which stops at [`BodyKind::GitHubJson`]'s limit first),
/// so that not even an octocrab convenience method could read an endless body.
const BACKSTOP: usize = 2 * BodyKind::GitHubJson.limit();

/// A tower `Service` sending octocrab's requests with a reqwest client.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

/// The answer's body: reqwest's, capped at [`BACKSTOP`].
pub type Body = Limited<reqwest::Body>;

/// The body of octocrab's raw answers.
pub type OctoResponseBody = http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>;

type Sending = Pin<Box<dyn Future<Output = Result<http::Response<Body>, reqwest::Error>> + Send>>;

impl tower::Service<http::Request<OctoBody>> for Transport {
    type Response = http::Response<Body>;
    type Error = reqwest::Error;
    type Future = Sending;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // reqwest's client queues nothing of its own: always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<OctoBody>) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            // octocrab's bodies are the JSON it serialised: a `Full` body of known length.
            let request = reqwest::Request::try_from(request.map(reqwest::Body::wrap))?;
            let response = client.execute(request).await?;
            Ok(into_http(response))
        })
    }
}

/// reqwest's answer as an `http::Response`, keeping its final URL (after redirects) for the
/// messages: reqwest's own conversion drops it, and turning the answer back into a
/// `reqwest::Response` ([`into_reqwest`]) would then name no URL.
fn into_http(response: reqwest::Response) -> http::Response<Body> {
    let url = response.url().clone();
    let (mut parts, body) = http::Response::from(response).into_parts();
    if let Ok(marker) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(marker.into_parts().0.extensions);
    }
    http::Response::from_parts(parts, Limited::new(body, BACKSTOP))
}

/// octocrab's raw answer as a `reqwest::Response`, so that it is read by the one bounded reader
/// ([`crate::http::read_json`], [`crate::http::http_error`]) like every other answer.
pub fn into_reqwest(response: http::Response<OctoResponseBody>) -> reqwest::Response {
    reqwest::Response::from(response.map(reqwest::Body::wrap))
}
