//! The page's own inputs (walks through windows are tested in `rows_tests.rs`).

use super::*;

#[test]
fn a_malformed_cursor_is_a_bad_request() {
    let filter = DeploymentFilter {
        after: Some("team-a/web".into()),
        ..DeploymentFilter::default()
    };
    let error = cursor(&filter).unwrap_err();
    assert_eq!(error.status(), 400, "{error}");
}

#[test]
fn a_page_size_outside_one_to_the_maximum_is_refused() {
    for bad in [0, MAX_LIMIT + 1] {
        let filter = DeploymentFilter {
            limit: Some(bad),
            ..DeploymentFilter::default()
        };
        assert_eq!(wanted(&filter).unwrap_err().status(), 422, "{bad}");
    }
    let deep = DeploymentFilter {
        offset: Some(100),
        limit: Some(10),
        ..DeploymentFilter::default()
    };
    assert_eq!(
        wanted(&deep).unwrap(),
        111,
        "offset, page and one to tell whether there is more"
    );
}
