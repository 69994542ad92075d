//! The multiplexed stdout/stderr decoder (logs, attach, exec) on arbitrary bytes cut into
//! chunks of every size: it must end, never panic, and never deliver more payload than arrived.
#![no_main]

use bytes::Bytes;
use docker_engine_runtime::OutputStream;
use futures_util::{stream, StreamExt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&control, body)) = input.split_first() else { return };
    let size = usize::from(control >> 1).max(1);
    let multiplexed = control & 1 == 1;
    let pieces: Vec<_> = body.chunks(size).map(|piece| Ok(Bytes::copy_from_slice(piece))).collect();
    let mut output = OutputStream::from_chunks(stream::iter(pieces), multiplexed, "Fuzz");
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
    if !multiplexed {
        assert_eq!(delivered, body.len(), "raw output must pass every byte through");
    }
});
