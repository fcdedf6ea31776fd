//! The HTTP edge, in front of everything Berth serves: security headers (with the Content-Security-Policy
//! nonce the pages' inline hydration script carries), the request body size limit, and rate limits.

pub mod headers;
pub mod limits;
