//! The container output decoder (logs, attach, exec), told the layout or reading it from the
//! first bytes, on arbitrary bytes cut into chunks of every size: it must end, never panic, never
//! deliver more payload than arrived, and pass every byte of raw output through.
#![no_main]

use bytes::Bytes;
use docker_engine_runtime::{Framing, OutputStream};
use futures_util::{stream, StreamExt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&control, body)) = input.split_first() else { return };
    let size = usize::from(control >> 2).max(1);
    let framing = match control & 3 {
        0 => Framing::Raw,
        1 => Framing::Multiplexed,
        _ => Framing::Detect,
    };
    let pieces: Vec<_> = body.chunks(size).map(|piece| Ok(Bytes::copy_from_slice(piece))).collect();
    let mut output = OutputStream::from_chunks(stream::iter(pieces), framing, "Fuzz");
    let delivered = futures_executor::block_on(async {
        let mut delivered = 0;
        while let Some(piece) = output.next().await {
            if let Ok(piece) = piece {
                delivered += piece.bytes().len();
            }
        }
        delivered
    });
    assert!(delivered <= body.len(), "{delivered} payload bytes from {} input bytes", body.len());
    if output.framing() == Framing::Raw {
        assert_eq!(delivered, body.len(), "raw output must pass every byte through");
    }
});
