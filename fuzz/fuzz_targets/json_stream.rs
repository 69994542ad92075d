//! The JSON object stream decoder (build, pull, events, stats) on arbitrary bytes cut into
//! chunks of every size: it must end, with items or errors, never panic, and decode the same
//! objects however the bytes are cut; decoded into one value held (`next_into`), it must give
//! what `next` gives, item for item and error for error.
#![no_main]

use bytes::Bytes;
use docker_engine_runtime::JsonStream;
use futures_util::{stream, StreamExt};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The shape of a progress message, to fuzz the typed decoding path beside the untyped one.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Progress {
    id: Option<String>,
    status: Option<String>,
    #[serde(rename = "progressDetail")]
    progress_detail: Option<Detail>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Detail {
    current: Option<i64>,
    total: Option<i64>,
}

fn chunks(body: &[u8], size: usize) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let pieces: Vec<_> = body.chunks(size).map(|piece| Ok(Bytes::copy_from_slice(piece))).collect();
    stream::iter(pieces)
}

/// The objects decoded, errors left out.
fn drain<T: serde::de::DeserializeOwned>(mut decoded: JsonStream<T>) -> Vec<T> {
    futures_executor::block_on(async {
        let mut objects = Vec::new();
        while let Some(item) = decoded.next().await {
            objects.extend(item.ok());
        }
        objects
    })
}

/// Maps of lists, which decoding in place reuses entry by entry and element by element.
type Held = std::collections::HashMap<String, Vec<Option<String>>>;

/// Each item, `None` for an error, read with `next` or decoded into one value with `next_into`.
fn items(body: &[u8], size: usize, into_one_value: bool) -> Vec<Option<Held>> {
    let mut decoded = JsonStream::<Held>::from_chunks(chunks(body, size), "FuzzHeld");
    futures_executor::block_on(async {
        let mut items = Vec::new();
        let mut held = Held::default();
        loop {
            let item = if into_one_value {
                match decoded.next_into(&mut held).await {
                    Some(result) => result.ok().map(|()| held.clone()),
                    None => break,
                }
            } else {
                match decoded.next().await {
                    Some(result) => result.ok(),
                    None => break,
                }
            };
            items.push(item);
        }
        items
    })
}

fuzz_target!(|input: &[u8]| {
    // The first byte picks the chunk size, so objects are split at every possible point.
    let Some((&size, body)) = input.split_first() else { return };
    let size = usize::from(size).max(1);
    let cut = drain(JsonStream::<serde_json::Value>::from_chunks(chunks(body, size), "FuzzValue"));
    let whole = drain(JsonStream::<serde_json::Value>::from_chunks(chunks(body, body.len().max(1)), "FuzzValue"));
    assert_eq!(cut, whole, "chunks of {size} bytes decoded other objects than the whole body");
    drain(JsonStream::<Progress>::from_chunks(chunks(body, size), "FuzzProgress"));
    assert_eq!(
        items(body, size, true),
        items(body, size, false),
        "next_into decoded other values than next"
    );
});
