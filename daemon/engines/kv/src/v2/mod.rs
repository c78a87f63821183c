//! KV v2: versioned secrets. Routes as OpenBao's versioned backend: `config`, `data/`,
//! `metadata/`, `detailed-metadata/`, `delete/`, `undelete/`, `destroy/`, `subkeys/`; anything
//! else is a 404 with a warning pointing at the `bao kv` command to use.
mod data;
mod metadata;
pub mod model;
mod other;

use crate::v1::dir;
use crate::{KvBackend, Op, Reply};
use coffer_logical::{LogicalError, Operation, Request, Response, Result, View};

/// A KV v2 path, split into its endpoint and the secret's path.
enum Route<'a> {
    Config,
    /// `data`, `metadata`, `delete`, `undelete` or `destroy` with nothing after it.
    EndpointRoot,
    Data(&'a str),
    Metadata(&'a str),
    DetailedMetadata(&'a str),
    Delete(&'a str),
    Undelete(&'a str),
    Destroy(&'a str),
    Subkeys(&'a str),
    Invalid,
}

fn route(path: &str) -> Route<'_> {
    if path == "config" {
        return Route::Config;
    }
    if matches!(path, "data" | "metadata" | "delete" | "undelete" | "destroy") {
        return Route::EndpointRoot;
    }
    let Some((head, rest)) = path.split_once('/') else { return Route::Invalid };
    match head {
        "data" => Route::Data(rest),
        "metadata" => Route::Metadata(rest),
        "detailed-metadata" => Route::DetailedMetadata(rest),
        "delete" => Route::Delete(rest),
        "undelete" => Route::Undelete(rest),
        "destroy" => Route::Destroy(rest),
        "subkeys" => Route::Subkeys(rest),
        _ => Route::Invalid,
    }
}

pub(crate) async fn handle(b: &KvBackend, req: &Request, op: Op, view: &View) -> Result<Reply> {
    use Operation::*;
    // OpenBao's HTTP layer gives every LIST a trailing slash.
    let listed;
    let path = match op {
        Op::Basic(List) | Op::Scan => {
            listed = dir(&req.path);
            listed.as_str()
        }
        _ => req.path.as_str(),
    };
    match (route(path), op) {
        (Route::Config, Op::Basic(Read)) => other::config_read(req, view).await,
        (Route::Config, Op::Basic(Create | Update)) => other::config_write(b, req, view).await,
        (Route::Config, Op::Basic(List) | Op::Scan) => Ok(invalid_path(op)),
        (Route::Config, _) => Err(LogicalError::UnsupportedOperation),

        (Route::EndpointRoot, _) => Ok(Reply::NotFoundWith(
            Response::no_content()
                .with_warning("Non-listing operations on the root of a K/V v2 mount are not supported."),
        )),

        (Route::Data(p), Op::Basic(Read)) => data::read(b, req, view, p).await,
        (Route::Data(p), Op::Basic(Create | Update)) => data::write(b, req, view, p).await,
        (Route::Data(p), Op::Basic(Patch)) => data::patch(b, req, view, p).await,
        (Route::Data(p), Op::Basic(Delete)) => data::delete(b, view, p).await,

        (Route::Metadata(p), Op::Basic(Read)) => metadata::read(req, view, p).await,
        (Route::Metadata(p), Op::Basic(Create | Update)) => metadata::write(b, req, view, p).await,
        (Route::Metadata(p), Op::Basic(Patch)) => metadata::patch(b, req, view, p).await,
        (Route::Metadata(p), Op::Basic(Delete)) => metadata::delete(b, view, p).await,
        (Route::Metadata(p), Op::Basic(List)) => metadata::list(req, view, p, false).await,
        (Route::Metadata(p), Op::Scan) => metadata::scan(req, view, p, false).await,

        (Route::DetailedMetadata(p), Op::Basic(List)) => metadata::list(req, view, p, true).await,
        (Route::DetailedMetadata(p), Op::Scan) => metadata::scan(req, view, p, true).await,

        (Route::Delete(p), Op::Basic(Create | Update)) => other::delete_versions(b, req, view, p).await,
        (Route::Undelete(p), Op::Basic(Create | Update)) => other::undelete_versions(b, req, view, p).await,
        (Route::Destroy(p), Op::Basic(Create | Update)) => other::destroy_versions(b, req, view, p).await,

        (Route::Subkeys(p), Op::Basic(Read)) => other::subkeys(b, req, view, p).await,

        (Route::Invalid, _) => Ok(invalid_path(op)),
        _ => Err(LogicalError::UnsupportedOperation),
    }
}

/// OpenBao's answer for a path that is not a KV v2 endpoint.
fn invalid_path(op: Op) -> Reply {
    let sub = match op {
        Op::Basic(Operation::Create | Operation::Update) => "put",
        Op::Basic(Operation::Patch) => "patch",
        Op::Basic(Operation::Read) => "get",
        Op::Basic(Operation::List) => "list",
        Op::Basic(Operation::Delete) => "delete",
        Op::Scan => "scan",
    };
    Reply::NotFoundWith(Response::no_content().with_warning(format!(
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv {sub}' for this operation."
    )))
}

pub(crate) async fn exists(req: &Request, view: &View) -> Result<Option<bool>> {
    match route(&req.path) {
        Route::Data(p) | Route::Metadata(p) => Ok(Some(model::load_metadata(view, p).await?.is_some())),
        _ => Ok(None),
    }
}
