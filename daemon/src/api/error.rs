//! The one place where core errors become HTTP status codes and OpenBao's error bodies.
use crate::core::CoreError;
use hyper::StatusCode;

pub fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::Sealed | CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::InvalidRequest(_) | CoreError::SealMigrationRequired(_) => StatusCode::BAD_REQUEST,
        CoreError::PermissionDenied | CoreError::AclDenied | CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::UnsupportedPath | CoreError::NoRoute(_) | CoreError::NotFound => StatusCode::NOT_FOUND,
        CoreError::UnsupportedOperation => StatusCode::METHOD_NOT_ALLOWED,
        CoreError::Integrity(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The strings of the `errors` array, worded as OpenBao words them.
pub fn messages_of(e: &CoreError) -> Vec<String> {
    match e {
        CoreError::NotFound | CoreError::UnsupportedOperation => vec![],
        CoreError::UnsupportedPath => vec!["1 error occurred:\n\t* unsupported path\n\n".into()],
        CoreError::AclDenied => vec!["1 error occurred:\n\t* permission denied\n\n".into()],
        CoreError::Internal(m) | CoreError::Integrity(m) => vec![format!("1 error occurred:\n\t* {m}\n\n")],
        other => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_openbao_statuses_and_bodies() {
        assert_eq!(status_of(&CoreError::Sealed), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(messages_of(&CoreError::Sealed), vec!["Vault is sealed"]);
        assert_eq!(status_of(&CoreError::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(messages_of(&CoreError::PermissionDenied), vec!["permission denied"]);
        assert_eq!(
            messages_of(&CoreError::NoRoute("nonexistent/path".into())),
            vec!["no handler for route \"nonexistent/path\". route entry not found."]
        );
        assert_eq!(messages_of(&CoreError::UnsupportedPath), vec!["1 error occurred:\n\t* unsupported path\n\n"]);
        assert_eq!(status_of(&CoreError::UnsupportedOperation), StatusCode::METHOD_NOT_ALLOWED);
        assert!(messages_of(&CoreError::UnsupportedOperation).is_empty());
        assert_eq!(status_of(&CoreError::Integrity("x".into())), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
