//! The bodies the gateway moves: a client's request body on its way to a service (counted
//! against the route's limit as it streams), and the answer on its way back (the gateway's
//! own bytes, or the service's body, which hands its connection back to the pool when it ends).

use crate::upstream::Release;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::Sleep;

/// Why a request body could not be passed on.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    #[error("the request body is larger than the route's {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the request body could not be read: {0}")]
    Read(#[from] hyper::Error),
}

/// A request body as sent to a service.
pub enum RequestBody {
    /// None, or none left: such a request can be sent again as it is.
    Empty,
    /// The client's body, streamed through and counted.
    Streamed {
        body: Incoming,
        limit: u64,
        seen: u64,
    },
}

impl RequestBody {
    pub fn new(body: Incoming, limit: u64) -> Self {
        if body.is_end_stream() {
            Self::Empty
        } else {
            Self::Streamed {
                body,
                limit,
                seen: 0,
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = RequestBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        let Self::Streamed { body, limit, seen } = self.get_mut() else {
            return Poll::Ready(None);
        };
        let Some(frame) = ready!(Pin::new(body).poll_frame(cx)?) else {
            return Poll::Ready(None);
        };
        if let Some(data) = frame.data_ref() {
            *seen += data.len() as u64;
            if *seen > *limit {
                return Poll::Ready(Some(Err(RequestBodyError::TooLarge { limit: *limit })));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Streamed { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Streamed { body, .. } => body.size_hint(),
        }
    }
}

/// Whether `error` (from sending a request) came from the client's body being over the
/// route's limit rather than from the service.
pub fn over_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(RequestBodyError::TooLarge { .. }) = error.downcast_ref() {
            return true;
        }
        source = error.source();
    }
    false
}

/// An answer as sent to the client.
pub enum ResponseBody {
    /// The gateway's own bytes (`None` once sent, or for an empty body).
    Local(Option<Bytes>),
    Upstream(UpstreamBody),
}

impl ResponseBody {
    pub fn local(bytes: Bytes) -> Self {
        Self::Local((!bytes.is_empty()).then_some(bytes))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        match self.get_mut() {
            Self::Local(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::Upstream(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Local(bytes) => bytes.is_none(),
            Self::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Local(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
            }
            Self::Upstream(body) => body.size_hint(),
        }
    }
}

/// Why a service's answer stopped short.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamBodyError {
    #[error(transparent)]
    Read(#[from] hyper::Error),
    #[error("the service sent nothing for {0:?}")]
    Idle(Duration),
}

/// A service's body: each wait for its next piece is bounded by the route's timeout, and the
/// connection goes back to the pool once the body has been read to its end (dropped earlier,
/// the connection is closed: it is in an unknown state).
pub struct UpstreamBody {
    body: Incoming,
    idle_timeout: Option<Duration>,
    /// Created on the first wait only, so bodies already in the buffer cost no timer.
    timer: Option<Pin<Box<Sleep>>>,
    timer_armed: bool,
    release: Option<Release>,
}

impl UpstreamBody {
    pub fn new(body: Incoming, idle_timeout: Option<Duration>, release: Option<Release>) -> Self {
        let mut this = Self {
            body,
            idle_timeout,
            timer: None,
            timer_armed: false,
            release,
        };
        this.release_if_done();
        this
    }

    fn release_if_done(&mut self) {
        if self.body.is_end_stream()
            && let Some(release) = self.release.take()
        {
            release.release();
        }
    }

    /// Polls the idle timer for a wait that has just begun or goes on.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Duration> {
        let Some(limit) = self.idle_timeout else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::now() + limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.timer_armed {
            timer.as_mut().reset(deadline);
            self.timer_armed = true;
        }
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(limit)
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        let this = self.get_mut();
        let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) else {
            let limit = ready!(this.poll_idle(cx));
            this.release = None;
            return Poll::Ready(Some(Err(UpstreamBodyError::Idle(limit))));
        };
        this.timer_armed = false;
        match frame {
            None => {
                if let Some(release) = this.release.take() {
                    release.release();
                }
                Poll::Ready(None)
            }
            Some(Err(error)) => {
                this.release = None;
                Poll::Ready(Some(Err(error.into())))
            }
            Some(Ok(frame)) => {
                this.release_if_done();
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_too_large_body_counts_as_over_the_limit() {
        let too_large = RequestBodyError::TooLarge { limit: 10 };
        assert!(over_limit(&too_large));
        let wrapped: Box<dyn std::error::Error + Send + Sync> = Box::new(too_large);
        assert!(over_limit(wrapped.as_ref()));
        let other = std::io::Error::other("reset");
        assert!(!over_limit(&other));
    }

    #[test]
    fn local_bodies_are_sent_once_with_their_exact_length() {
        let body = ResponseBody::local(Bytes::from_static(b"hello"));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        let empty = ResponseBody::local(Bytes::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }
}
