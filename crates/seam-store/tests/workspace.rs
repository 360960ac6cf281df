//! The workspace suite (triage, alerts, suppressions, cases), run against the embedded store.

use std::cell::Cell;

use seam_store::EmbeddedStore;
use seam_store::conformance::{WorkspaceStore, workspace_suite};

#[test]
fn embedded_store_conforms_to_the_workspace_suite() {
    let parent = tempfile::tempdir().unwrap();
    let made = Cell::new(0);
    workspace_suite(|| {
        made.set(made.get() + 1);
        let directory = parent.path().join(format!("store-{}", made.get()));
        Box::new(EmbeddedStore::open(&directory).unwrap()) as Box<dyn WorkspaceStore>
    });
    assert!(made.get() >= 9);
}

/// Findings stored before the workspace existed get their triage rows when the store opens.
#[test]
fn findings_from_before_the_workspace_are_indexed_on_open() {
    use seam_store::Store;
    use seam_store::workspace::{FindingQuery, Workspace};
    let directory = tempfile::tempdir().unwrap();
    {
        let mut store = EmbeddedStore::open(directory.path()).unwrap();
        store
            .append_findings(&[seam_store::StoredFinding {
                uid: "old".into(),
                rule: "r".into(),
                time: seam_store::Ts(5),
                person: None,
                severity: "Low".into(),
                json: "{}".into(),
            }])
            .unwrap();
        store.commit().unwrap();
    }
    // As if written by a version without the workspace: drop the rows it made.
    let connection = rusqlite::Connection::open(directory.path().join("seam.db")).unwrap();
    connection.execute("DELETE FROM triage", []).unwrap();
    drop(connection);
    let store = EmbeddedStore::open(directory.path()).unwrap();
    let page = store
        .list_findings(&FindingQuery {
            limit: 10,
            ..FindingQuery::default()
        })
        .unwrap();
    assert_eq!(page.findings.len(), 1);
    assert_eq!(page.findings[0].uid, "old");
}
