//! Seam's own normalized events, one JSON object per line (or an array, or one object): the
//! format `seam replay` reads. Each event is validated; its `source` becomes the source the
//! endpoint is configured for (a pushed event cannot speak for another source), and its
//! `observed` the receive time.

use seam_model::Event;

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext};

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json(input, ctx, &[], |value, _raw| parse_record(value))
}

fn parse_record(value: &serde_json::Value) -> RecordResult {
    let event: Event = common::typed(value)?;
    event.validate().map_err(|error| error.to_string())?;
    Ok(Read::Event(event))
}
