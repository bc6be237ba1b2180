//! `faceseal subject create` and `faceseal consent grant`: the backend's
//! records, so the whole flow runs from the shell.

use serde_json::Value;

use super::api::SyncClient;
use super::{ConsentCommand, ServerArgs, SubjectCommand};
use crate::GlobalArgs;
use crate::exit::{Exit, Failure};

fn client(server: &ServerArgs) -> Result<SyncClient, Failure> {
    Ok(SyncClient::new(&server.server, &server.api_key)?)
}

pub fn subject(global: &GlobalArgs, command: &SubjectCommand) -> Result<Exit, Failure> {
    let SubjectCommand::Create { server, id } = command;
    let created = client(server)?.create_subject(id)?;
    print(global, &created, "subject_id");
    Ok(Exit::Success)
}

pub fn consent(global: &GlobalArgs, command: &ConsentCommand) -> Result<Exit, Failure> {
    let ConsentCommand::Grant {
        server,
        subject,
        purpose,
        text_version,
    } = command;
    let granted = client(server)?.grant_consent(subject, purpose, text_version)?;
    if granted["consent_ref"].as_str().is_none() {
        return Err(Failure::new(
            Exit::Server,
            "bad_reply",
            "the server's answer has no consent reference",
        ));
    }
    print(global, &granted, "consent_ref");
    Ok(Exit::Success)
}

/// The server's record as JSON, or its one field a script needs alone on a
/// line (`REF=$(faceseal consent grant ...)`).
fn print(global: &GlobalArgs, record: &Value, field: &str) {
    if global.json {
        println!("{record}");
    } else {
        println!("{}", record[field].as_str().unwrap_or_default());
    }
}
