//! `unwrap [TOKEN]`: `sys/wrapping/unwrap` with the given wrapping token (or the client's).

use serde_json::Value;

use super::render::{output_list, output_secret, print_raw_field};
use super::{connect, output_flags, Command, Ui};
use crate::client::{Client, Extra, Method, Secret, TokenChoice};
use crate::error::Error;
use crate::flags::{FlagDef, Parsed};
use crate::output::{go_json_compact, J};
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "unwrap", synopsis: "Unwrap a wrapped secret", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer unwrap [options] [TOKEN]

  Unwraps a wrapped secret from Coffer by the given token. The result is the
  same as the \"coffer read\" operation on the non-wrapped secret. If no token
  is given, the data in the currently authenticated token is unwrapped.

  Unwrap the data in the cubbyhole secrets engine for a token:

      $ coffer unwrap 3de9ece1-b347-e143-29b0-dc2dc31caafd

  Unwrap the data in the active token:

      $ coffer login 848f9ccf-7176-098c-5e2b-75a0689d41cd
      $ coffer unwrap # unwraps 848f9ccf...

  For a full list of examples and paths, please see the online documentation."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    output_flags(true)
}

/// bao's `Logical().Unwrap`: a token other than the client's goes in the body; with no
/// client token it is used as the request's token. A 404 that carries data is the wrapped
/// response itself.
fn unwrap(client: &Client, wrapping_token: &str) -> Result<Option<Secret>, Error> {
    let trimmed = wrapping_token.trim();
    let mut token = TokenChoice::Client;
    let mut body = "null".to_string();
    if !wrapping_token.is_empty() {
        match client.token() {
            None => token = TokenChoice::Use(trimmed),
            Some(t) if t != wrapping_token => {
                body = go_json_compact(&J::Obj(vec![("token".to_string(), J::Str(trimmed.to_string()))]));
            }
            Some(_) => {}
        }
    }
    let extra = Extra { token, ..Extra::default() };
    let resp = client.send_ext(Method::Put, "sys/wrapping/unwrap", &[], Some(body.as_bytes()), extra)?;
    if resp.status != 404 {
        if let Some(e) = resp.error() {
            return Err(Error::Api(e));
        }
        return Secret::parse(resp.json_object()?);
    }
    let secret = Secret::parse(resp.json_object()?)?;
    if let Some(s) = secret.filter(|s| {
        s.data.as_ref().is_some_and(|d| !d.is_empty()) || s.warnings.as_ref().is_some_and(|w| !w.is_empty())
    }) {
        return Ok(Some(s));
    }
    // An old-style wrapping token: the response is in its cubbyhole.
    let token = if wrapping_token.is_empty() { TokenChoice::Client } else { TokenChoice::Use(wrapping_token) };
    let resp = client
        .send_ext(Method::Get, "cubbyhole/response", &[], None, Extra { token, ..Extra::default() })
        .map_err(|e| Error::Decode(format!("error reading \"cubbyhole/response\": {e}")))?;
    let found = if resp.status == 404 {
        Secret::parse(resp.json_object()?)?.filter(|s| s.data.as_ref().is_some_and(|d| !d.is_empty()))
    } else if let Some(e) = resp.error() {
        return Err(Error::Decode(format!("error reading \"cubbyhole/response\": {e}")));
    } else {
        Secret::parse(resp.json_object()?)?
    };
    let Some(found) = found else {
        return Err(Error::Decode("no value found at \"cubbyhole/response\"".to_string()));
    };
    let Some(data) = found.data else {
        return Err(Error::Decode("\"data\" not found in wrapping response".to_string()));
    };
    let Some(response) = data.get("response") else {
        return Err(Error::Decode("\"response\" not found in wrapping response \"data\" map".to_string()));
    };
    let text = response.as_str().unwrap_or_default();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(Secret::from_map(&m))),
        Ok(_) => Ok(Some(Secret::default())),
        Err(e) => Err(Error::Decode(format!("error unmarshalling wrapped secret: {e}"))),
    }
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if args.len() > 1 {
        ui.error(&format!("Too many arguments (expected 0-1, got {})", args.len()));
        return 1;
    }
    let token = args.first().map(|t| t.trim().to_string()).unwrap_or_default();
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let secret = match unwrap(&client, &token) {
        Ok(Some(s)) => s,
        Ok(None) => {
            if ui.is_table() {
                ui.output("Successfully unwrapped. There was no data in the wrapped secret.");
            }
            return 0;
        }
        Err(e) => {
            ui.error(&format!("Error unwrapping: {e}"));
            return 2;
        }
    };
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        return print_raw_field(ui, &secret, field);
    }
    if let Some(Value::Array(keys)) = secret.data.as_ref().and_then(|d| d.get("keys")) {
        let keys = keys.clone();
        return output_list(ui, &secret, &keys);
    }
    output_secret(ui, &secret)
}
