//! Part bodies without copies.
//!
//! A part read from an HTTP source is kept as the chunks the HTTP client delivered (slices of
//! its own read buffers) and sent as they are; a part read from a plain byte stream is one
//! buffer. Either way the bytes are hashed in place and never gathered into a second buffer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};

/// The bytes of one part (or a whole small object): cheap to clone, immutable.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartBytes {
    chunks: Arc<Vec<Bytes>>,
    len: u64,
}

impl PartBytes {
    /// Length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are no bytes.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, chunk by chunk, in order.
    pub(crate) fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().map(|c| c.as_ref())
    }

    /// The request body: one reusable buffer, or a stream of the chunks with an exact length
    /// (sent with `Content-Length`, never chunked transfer encoding).
    pub(crate) fn to_body(&self) -> reqwest::Body {
        match self.chunks.as_slice() {
            [] => reqwest::Body::from(Bytes::new()),
            [one] => reqwest::Body::from(one.clone()),
            _ => reqwest::Body::wrap(ChunkBody {
                chunks: self.chunks.iter().cloned().collect(),
                remaining: self.len,
            }),
        }
    }

    /// The buffer back, when this was the only reference to a single-buffer body (to reuse it
    /// for the next part).
    pub(crate) fn into_buffer(self) -> Option<BytesMut> {
        let mut chunks = Arc::try_unwrap(self.chunks).ok()?;
        if chunks.len() != 1 {
            return None;
        }
        chunks.pop()?.try_into_mut().ok()
    }
}

impl From<Bytes> for PartBytes {
    fn from(b: Bytes) -> Self {
        let len = b.len() as u64;
        let chunks = if b.is_empty() { Vec::new() } else { vec![b] };
        Self {
            chunks: Arc::new(chunks),
            len,
        }
    }
}

/// A part being read: bytes appended to one buffer, or chunks taken as they come.
#[derive(Debug, Default)]
pub(crate) struct PartBuf {
    chunks: Vec<Bytes>,
    buf: BytesMut,
    len: usize,
}

impl PartBuf {
    /// A part read into `buf` (emptied first; its capacity is kept).
    pub(crate) fn with_buffer(mut buf: BytesMut) -> Self {
        buf.clear();
        Self {
            chunks: Vec::new(),
            buf,
            len: 0,
        }
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes a chunk as it is.
    pub(crate) fn push_chunk(&mut self, chunk: Bytes) {
        self.seal();
        self.len += chunk.len();
        self.chunks.push(chunk);
    }

    /// The buffer that reads append to, `room` bytes free at least; [`PartBuf::appended`]
    /// must follow with what was added.
    pub(crate) fn buffer(&mut self, room: usize) -> &mut BytesMut {
        self.buf.reserve(room);
        &mut self.buf
    }

    /// Counts `n` bytes appended to [`PartBuf::buffer`].
    pub(crate) fn appended(&mut self, n: usize) {
        self.len += n;
    }

    fn seal(&mut self) {
        if !self.buf.is_empty() {
            let b = self.buf.split().freeze();
            self.chunks.push(b);
        }
    }

    /// The part, immutable.
    pub(crate) fn freeze(mut self) -> PartBytes {
        self.seal();
        PartBytes {
            len: self.len as u64,
            chunks: Arc::new(self.chunks),
        }
    }
}

/// A body streaming the chunks of a part, with its exact length.
struct ChunkBody {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|c| {
            self.remaining -= c.len() as u64;
            Ok(Frame::data(c))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn chunks_and_buffer_keep_their_order_and_length() {
        let mut p = PartBuf::with_buffer(BytesMut::with_capacity(4));
        p.buffer(3).extend_from_slice(b"abc");
        p.appended(3);
        p.push_chunk(Bytes::from_static(b"de"));
        p.buffer(1).extend_from_slice(b"f");
        p.appended(1);
        assert_eq!(p.len(), 6);
        let frozen = p.freeze();
        assert_eq!(frozen.len(), 6);
        assert_eq!(frozen.slices().collect::<Vec<_>>().concat(), b"abcdef");
        assert!(
            frozen.clone().into_buffer().is_none(),
            "several chunks, or shared"
        );
    }

    #[test]
    fn a_single_buffer_comes_back_for_reuse() {
        let mut p = PartBuf::with_buffer(BytesMut::with_capacity(1 << 16));
        p.buffer(5).extend_from_slice(b"hello");
        p.appended(5);
        let frozen = p.freeze();
        let copy = frozen.clone();
        drop(copy);
        let back = frozen.into_buffer().expect("sole owner of one buffer");
        assert!(back.capacity() >= 5);
    }

    #[tokio::test]
    async fn the_body_streams_every_chunk_with_an_exact_length() {
        let mut p = PartBuf::default();
        for c in [&b"one "[..], b"two ", b"three"] {
            p.push_chunk(Bytes::copy_from_slice(c));
        }
        let body = p.freeze().to_body();
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(13));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"one two three");
        let empty = PartBytes::from(Bytes::new());
        assert!(empty.is_empty());
        assert_eq!(
            http_body::Body::size_hint(&empty.to_body()).exact(),
            Some(0)
        );
    }
}
