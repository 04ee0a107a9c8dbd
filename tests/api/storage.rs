use provenance::services::Portal;

use crate::helpers::{Backend, TestDatabase, spawn_app, test_settings};

both_backends!(
    migrations_build_the_schema,
    readyz_refuses_an_unmigrated_database
);

async fn migrations_build_the_schema(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = app.portal.store();
    let tables = store.table_names().await.unwrap();
    for t in [
        "organisation",
        "location",
        "product",
        "device",
        "component_link",
        "event",
        "event_field",
        "event_device",
        "seaql_migrations",
    ] {
        assert!(
            tables.iter().any(|n| n == t),
            "missing table {t}: {tables:?}"
        );
    }
    // Running them again is a no-op.
    store.migrate().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), 0);
    if backend == Backend::Sqlite {
        let (journal, synchronous) = store.sqlite_pragmas().await.unwrap().unwrap();
        assert_eq!(journal.to_lowercase(), "wal");
        assert_eq!(synchronous, 2, "synchronous=FULL");
        assert!(app.data_dir.join("provenance.db").exists());
    }
}

async fn readyz_refuses_an_unmigrated_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = TestDatabase::create(backend, dir.path()).await else {
        return;
    };
    let portal = Portal::open_unmigrated(test_settings(dir.path(), &db.url))
        .await
        .unwrap();
    let readiness = portal.readiness().await;
    assert!(readiness.database);
    assert!(readiness.pending_migrations.unwrap() > 0);
    assert!(!readiness.is_ready());
    portal.store().migrate().await.unwrap();
    assert!(portal.readiness().await.is_ready());
}
