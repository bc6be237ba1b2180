//! Printing results: human text by default, one JSON object with `--json`.

use serde::Serialize;

use crate::GlobalArgs;
use crate::context::CliResult;

/// Prints `value` as JSON, or the text `human` builds from it.
pub fn emit<T: Serialize>(
    args: &GlobalArgs,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> CliResult<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", human(value));
    }
    Ok(())
}

pub fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}
