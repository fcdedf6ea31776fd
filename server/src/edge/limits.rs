//! Request limits: the body size, and rate limits on sign-in and on server functions.
//!
//! Rate limits are token buckets per key (GCRA, `governor`), in this replica's memory: a client spread over
//! `n` replicas by the load balancer gets up to `n` times the limit, which is fine for what they are for
//! (stopping a runaway script or a password-spraying loop through the sign-in, not metering). Keys:
//!
//! - sign-in (`/auth/login`, `/auth/callback`): the client's address;
//! - server functions (`/api/...`) and every other POST (kubeconfig downloads, sign-out): the session cookie
//!   (hashed; signed in or not), and the address.
//!
//! The client's address is the TCP peer's, or with `http.trusted_proxy_hops = N` the N-th entry from the
//! right of `X-Forwarded-For` (each trusted proxy appends the address it saw; entries further left are
//! whatever the client claimed).
//!
//! Beyond a limit: 429 with `Retry-After` and, for server functions, the [`ApiError`] the page shows.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use app::error::ApiError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{HttpConfig, RateLimits};
use crate::error::ErrorReply;
use crate::metrics::Metrics;

/// How often buckets that are full again are dropped, so idle clients cost no memory.
const FORGET_INTERVAL: Duration = Duration::from_secs(60);

/// The limits of one replica.
pub struct Limiters {
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    per_session: DefaultKeyedRateLimiter<u64>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Hashes session cookies, with a key random per process (the raw cookie is a credential).
    hasher: std::hash::RandomState,
    clock: DefaultClock,
    trusted_proxy_hops: usize,
    /// `name=` of the session cookie.
    session_cookie_prefix: String,
    metrics: Arc<Metrics>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limiters {
    pub fn new(config: &HttpConfig, session_cookie: &'static str, metrics: Arc<Metrics>) -> Arc<Self> {
        let RateLimits {
            sign_in_per_minute,
            server_functions_per_session_per_minute,
            server_functions_per_address_per_minute,
        } = config.rate_limits;
        Arc::new(Self {
            sign_in: RateLimiter::keyed(per_minute(sign_in_per_minute)),
            per_session: RateLimiter::keyed(per_minute(server_functions_per_session_per_minute)),
            per_address: RateLimiter::keyed(per_minute(server_functions_per_address_per_minute)),
            hasher: std::hash::RandomState::new(),
            clock: DefaultClock::default(),
            trusted_proxy_hops: config.trusted_proxy_hops,
            session_cookie_prefix: format!("{session_cookie}="),
            metrics,
        })
    }

    /// Drops full buckets every minute, for as long as the task runs.
    pub async fn forget_idle_clients(self: Arc<Self>) {
        let mut tick = tokio::time::interval(FORGET_INTERVAL);
        loop {
            tick.tick().await;
            self.sign_in.retain_recent();
            self.per_session.retain_recent();
            self.per_address.retain_recent();
        }
    }

    /// The client's address: the peer's, or the one the trusted proxies name.
    fn client_address(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        if self.trusted_proxy_hops == 0 {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        // Fewer entries than proxies: the request did not come through all of them; only the peer is known.
        forwarded
            .len()
            .checked_sub(self.trusted_proxy_hops)
            .and_then(|index| forwarded[index].parse().ok())
            .unwrap_or(peer)
    }

    fn session_key(&self, headers: &HeaderMap) -> Option<u64> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .map(str::trim)
            .find_map(|pair| pair.strip_prefix(self.session_cookie_prefix.as_str()))
            .map(|value| self.hasher.hash_one(value))
    }

    /// `Err(wait)`: the request is over a limit (named for the metrics) and may be retried after `wait`.
    fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<(), (&'static str, Duration)> {
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(self.clock.now());
        if matches!(path, "/auth/login" | "/auth/callback") {
            let address = self.client_address(headers, peer);
            return self.sign_in.check_key(&address).map_err(|limit| ("sign_in", wait(limit)));
        }
        if path.starts_with("/api/") || method == Method::POST {
            if let Some(session) = self.session_key(headers) {
                self.per_session.check_key(&session).map_err(|limit| ("server_functions_per_session", wait(limit)))?;
            }
            let address = self.client_address(headers, peer);
            return self.per_address.check_key(&address).map_err(|limit| ("server_functions_per_address", wait(limit)));
        }
        Ok(())
    }
}

pub async fn limit_rates(State(limiters): State<Arc<Limiters>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    let path = request.uri().path();
    let Err((limit, wait)) = limiters.check(request.method(), path, request.headers(), peer) else {
        return next.run(request).await;
    };
    limiters.metrics.rate_limited(limit);
    // Rounded up: retrying at the second given must succeed.
    let retry_after_seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    tracing::warn!(path, limit, retry_after_seconds, "rate limit reached");
    let error = ApiError::TooManyRequests { retry_after_seconds };
    if path.starts_with("/api/") { ErrorReply::json(error) } else { ErrorReply::text(error) }.into_response()
}

/// Refuses a body over `max` bytes with a readable 413 before any handler reads it. A declared length is
/// checked as it stands (hyper never delivers more than it declares); a body without one (chunked) is
/// read here up to `max` and passed on from memory, which costs little at Berth's sizes.
pub async fn refuse_large_bodies(State(max): State<usize>, request: Request, next: Next) -> Response {
    let too_large = || ErrorReply::text(ApiError::TooLarge { max_kib: (max / 1024) as u64 }).into_response();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|value| value.to_str().ok().and_then(|value| value.parse::<u64>().ok()).unwrap_or(u64::MAX));
    match declared {
        Some(length) if length > max as u64 => too_large(),
        Some(_) => next.run(request).await,
        None if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, max).await {
                Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Err(_) => too_large(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limiters(hops: usize) -> Arc<Limiters> {
        let config = HttpConfig { trusted_proxy_hops: hops, ..HttpConfig::default() };
        Limiters::new(&config, "berth_session", Metrics::new())
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_client_address_is_the_peer_unless_proxies_are_trusted() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 9], 40000)));
        let spoofed = forwarded("1.2.3.4, 203.0.113.7");
        assert_eq!(limiters(0).client_address(&spoofed, peer), IpAddr::from([10, 0, 0, 9]), "untrusted header ignored");
        assert_eq!(limiters(1).client_address(&spoofed, peer), IpAddr::from([203, 0, 113, 7]), "the proxy's entry");
        assert_eq!(limiters(2).client_address(&spoofed, peer), IpAddr::from([1, 2, 3, 4]));
        assert_eq!(limiters(3).client_address(&spoofed, peer), IpAddr::from([10, 0, 0, 9]), "too few entries");
        assert_eq!(limiters(1).client_address(&forwarded("garbage"), peer), IpAddr::from([10, 0, 0, 9]));
    }

    #[test]
    fn the_session_key_is_the_hashed_cookie_and_differs_per_session() {
        let limiters = limiters(0);
        let cookie = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_static(value));
            headers
        };
        let a = limiters.session_key(&cookie("theme=dark; berth_session=aaa"));
        let b = limiters.session_key(&cookie("berth_session=bbb"));
        assert!(a.is_some() && b.is_some() && a != b);
        assert_eq!(a, limiters.session_key(&cookie("berth_session=aaa")));
        assert_eq!(limiters.session_key(&cookie("other_berth_session=aaa")), None);
    }
}
