use super::*;

fn caller() -> Caller {
    Caller {
        arn: "arn:aws:sts::123456789012:assumed-role/OnCall/alice".into(),
        account: "123456789012".into(),
        user_id: "AROAEXAMPLE:alice".into(),
    }
}

fn recover_request() -> Request {
    Request {
        version: VERSION,
        operation: Operation::Recover {
            resolve: Resolve::RolledBack,
            reason: "index dropped by hand".into(),
            force: false,
            lock_wait_ms: 10_000,
            lock_timeout_ms: 5_000,
            max_duration_ms: 900_000,
        },
        dataset_id: Some("dogs".into()),
        environment_id: Some("prod".into()),
        caller: Some(caller()),
    }
}

#[test]
fn requests_read_back_as_they_were_sent() {
    let r = recover_request();
    let wire = r.to_json();
    assert_eq!(wire["depotMigrate"], "operator");
    assert_eq!(wire["version"], 1);
    assert_eq!(wire["operation"], "recover");
    assert_eq!(wire["resolve"], "rolled-back");
    assert_eq!(wire["lockWaitMs"], 10_000);
    assert_eq!(wire["caller"]["userId"], "AROAEXAMPLE:alice");
    assert!(Request::is_request(&wire));
    assert_eq!(Request::parse(&wire), Ok(r));
    let list = Request {
        version: VERSION,
        operation: Operation::List {},
        dataset_id: None,
        environment_id: None,
        caller: None,
    };
    assert_eq!(Request::parse(&list.to_json()), Ok(list));
}

#[track_caller]
fn refused(v: Value) -> OpError {
    Request::parse(&v).expect_err("refused")
}

#[test]
fn unknown_versions_operations_and_members_are_refused_with_their_codes() {
    let e = refused(
        json!({"depotMigrate": "operator", "version": 2, "operation": "status", "datasetId": "dogs"}),
    );
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Refused, Some(ErrorCode::OperatorVersion))
    );
    assert!(
        e.message.contains("version 2") && e.message.contains("speaks version 1"),
        "{}",
        e.message
    );
    let e = refused(json!({"depotMigrate": "operator", "operation": "status"}));
    assert_eq!(e.code, Some(ErrorCode::OperatorVersion));
    assert!(e.message.contains("(missing)"), "{}", e.message);

    let e = refused(
        json!({"depotMigrate": "operator", "version": 1, "operation": "drop", "datasetId": "dogs"}),
    );
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Refused, Some(ErrorCode::UnknownOperation))
    );
    assert!(
        e.message.contains("\"drop\"") && e.message.contains("eventsFlush"),
        "{}",
        e.message
    );

    let e = refused(
        json!({"depotMigrate": "operator", "version": 1, "operation": "status", "datasetId": "dogs", "sql": "DROP TABLE x"}),
    );
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Usage, Some(ErrorCode::InvalidOperatorRequest))
    );
    assert!(e.message.contains("sql"), "{}", e.message);

    let e = refused(json!({"depotMigrate": "operator", "version": 1, "operation": "status"}));
    assert!(
        e.message.contains("$.datasetId is missing"),
        "{}",
        e.message
    );
    let e = refused(
        json!({"depotMigrate": "operator", "version": 1, "operation": "list", "datasetId": "dogs"}),
    );
    assert!(e.message.contains("every dataset"), "{}", e.message);
    let e = refused(
        json!({"depotMigrate": "operator", "version": 1, "operation": "status", "datasetId": "dogs; drop"}),
    );
    assert_eq!(e.kind, ErrorKind::Usage);
    assert!(
        e.message
            .contains("$.datasetId \"dogs; drop\" is not an id"),
        "{}",
        e.message
    );

    let mut w = recover_request().to_json();
    w["lockWaitMs"] = json!("10s");
    let e = refused(w);
    assert_eq!(e.code, Some(ErrorCode::InvalidOperatorRequest));
    assert!(e.message.contains("recover"), "{}", e.message);
    let mut w = recover_request().to_json();
    w["reason"] = json!("  ");
    assert!(refused(w).message.contains("$.reason must say why"));
    let wait = json!({"depotMigrate": "operator", "version": 1, "operation": "wait", "datasetId": "dogs",
        "versionHash": "abc", "timeoutMs": 1000, "intervalMs": 100});
    assert!(refused(wait)
        .message
        .contains("\"abc\" is not a version hash"));
    assert!(refused(json!([1])).message.contains("not a JSON object"));
}

#[test]
fn requests_that_change_state_must_say_who_asks() {
    let mut w = recover_request().to_json();
    w.as_object_mut().map(|m| m.remove("caller"));
    let e = refused(w);
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Refused, Some(ErrorCode::CallerIdentity))
    );
    let flush = json!({"depotMigrate": "operator", "version": 1, "operation": "eventsFlush"});
    assert_eq!(refused(flush.clone()).code, Some(ErrorCode::CallerIdentity));
    let mut with = flush;
    with["caller"] = json!(caller());
    assert!(Request::parse(&with).is_ok());
    // Reads need no caller.
    let status = json!({"depotMigrate": "operator", "version": 1, "operation": "status", "datasetId": "dogs"});
    assert!(Request::parse(&status).is_ok_and(|r| r.caller.is_none()));
}

#[test]
fn the_runner_allows_reads_unless_configured_otherwise() {
    let read = Allowed::from_config(None).expect("default");
    assert_eq!(read, Allowed::from_config(Some(" ")).expect("empty"));
    let recover = recover_request().operation;
    for op in [Operation::Status {}, Operation::List {}] {
        assert!(read.check(&op, "runner").is_ok());
    }
    let e = read
        .check(&recover, "runner-fn")
        .expect_err("recover is not a read");
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Refused, Some(ErrorCode::OperationNotAllowed))
    );
    assert!(
        e.message.contains("runner-fn does not allow recover")
            && e.message.contains("grantOperate"),
        "{}",
        e.message
    );
    assert!(read.check(&Operation::EventsFlush {}, "r").is_err());
    assert!(read.check(&Operation::Watchdog {}, "r").is_err());
    let all = Allowed::from_config(Some(&OPERATIONS.join(","))).expect("all");
    assert!(all.check(&recover, "r").is_ok());
    let e = Allowed::from_config(Some("status,drop")).expect_err("unknown");
    assert!(e.contains("\"drop\""), "{e}");
}

#[test]
fn responses_carry_replies_and_refuse_other_shapes() {
    let reply = Reply {
        output: json!({"ok": true}),
        extra: Value::Null,
        notes: vec!["n".into()],
        error: Some(OpError::refused(ErrorCode::NoState, "none")),
    };
    let r = Response::of(Some("status"), reply.clone(), Some("req-1"));
    assert!(!r.ok);
    let wire = serde_json::to_vec(&r).expect("json");
    let back = Response::parse(&wire).expect("reads");
    assert_eq!(back.request_id.as_deref(), Some("req-1"));
    assert_eq!(back.into_reply(), reply);
    let v: Value = serde_json::from_slice(&wire).expect("json");
    assert_eq!(v["error"]["code"], "DR1013");
    assert_eq!(v["error"]["kind"], "refused");
    assert!(Response::parse(b"{\"findings\": []}")
        .expect_err("an error")
        .contains("not an operator response"));
    assert!(Response::parse(b"nope")
        .expect_err("an error")
        .contains("not JSON"));
    let newer = json!({"depotMigrate": "operatorResponse", "version": 9, "ok": true});
    assert!(Response::parse(newer.to_string().as_bytes())
        .expect_err("an error")
        .contains("version 9"));
}
