use super::*;
use serde_json::json;

fn counter_salts() -> impl FnMut() -> Result<Salt, SaltError> {
    let mut n = 0u8;
    move || {
        n = n.wrapping_add(1);
        Ok(Salt([n; 16]))
    }
}

fn sample(prev: Option<Hash>, seq: u64) -> CommittedLeaf {
    let fields = vec![
        ("eventType".to_owned(), json!("ObjectEvent")),
        ("bizStep".to_owned(), json!("commissioning")),
        ("readPoint".to_owned(), json!({"id": "urn:x"})),
        ("ownerName".to_owned(), json!("A. Person")),
        ("buyerEmail".to_owned(), json!("a@example.com")),
    ];
    CommittedLeaf::build(
        LeafInput {
            device: "(01)09506000134352(21)A1",
            event_id: "urn:uuid:1",
            seq,
            prev,
            fields: &fields,
            personal: &["ownerName".to_owned(), "buyerEmail".to_owned()],
        },
        counter_salts(),
    )
    .unwrap()
}

#[test]
fn encodes_version_2_in_jcs_member_order_and_decodes_back() {
    let first = sample(None, 0);
    let bytes = first.leaf.encode().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("{\"device\":\""));
    assert!(text.contains("\"fields\":{\"bizStep\":\""));
    assert!(text.contains(",\"personal\":[\"buyerEmail\",\"ownerName\"],\"prev\":\""));
    assert!(text.ends_with(",\"seq\":0,\"v\":2}"));
    assert_eq!(Leaf::decode(&bytes).unwrap(), first.leaf);
    assert_eq!(first.leaf.version(), 2);
    assert_eq!(first.leaf.is_personal("ownerName"), Some(true));
    assert_eq!(first.leaf.is_personal("bizStep"), Some(false));
    assert_eq!(first.data, bytes);
    assert_eq!(first.hash, leaf_hash(&bytes));
    let random = CommittedLeaf::build_random(LeafInput {
        device: "d",
        event_id: "e",
        seq: 0,
        prev: None,
        fields: &[("a".to_owned(), json!(1))],
        personal: &[],
    })
    .unwrap();
    assert_ne!(random.device.salt, random.event.salt);
    assert_ne!(random.event.salt, random.prev.salt);
    assert_ne!(random.prev.salt, random.fields[0].0.salt);
    assert!(first.device.verifies(&first.leaf.device));
    assert!(first.event.verifies(&first.leaf.event));
    assert_eq!(first.prev.value, Value::Null);
    for (o, c) in &first.fields {
        assert!(o.verifies(c));
        assert_eq!(first.leaf.fields.get(&o.name), Some(c));
    }

    let second = sample(Some(first.hash), 1);
    let bytes = second.leaf.encode().unwrap();
    assert_eq!(Leaf::decode(&bytes).unwrap(), second.leaf);
    // The link is hidden: the previous hash appears nowhere in the leaf.
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(&first.hash.to_base64()));
    assert_eq!(second.prev.value, json!(first.hash.to_base64()));

    let salts = [Some(first.prev.salt), Some(second.prev.salt)];
    let chain = [first.leaf.clone(), second.leaf.clone()];
    assert_eq!(verify_chain(&chain, &salts), Ok(()));
    // Without the openings the chain cannot be followed.
    assert_eq!(verify_chain(&chain, &[]), Err(LeafError::BrokenChain(0)));
    let swapped = [second.leaf.clone(), first.leaf.clone()];
    assert_eq!(
        verify_chain(&swapped, &[salts[1], salts[0]]),
        Err(LeafError::BrokenChain(0))
    );
    let mut wrong = salts;
    wrong[1] = Some(Salt([0; 16]));
    assert_eq!(verify_chain(&chain, &wrong), Err(LeafError::BrokenChain(1)));
}

/// A version-1 leaf, as the portal wrote them before version 2.
fn v1(prev: Option<Hash>, seq: u64) -> Leaf {
    let c = |b: u8| Commitment(Hash([b; 32]));
    Leaf {
        device: c(1),
        seq,
        prev: Prev::Plain(prev),
        event: c(2),
        fields: [("bizStep".to_owned(), c(3))].into_iter().collect(),
        personal: Vec::new(),
    }
}

#[test]
fn version_1_leaves_keep_decoding_and_chaining() {
    let first = v1(None, 0);
    let bytes = first.encode().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.ends_with(",\"prev\":null,\"seq\":0,\"v\":1}"));
    assert!(!text.contains("personal"));
    assert_eq!(Leaf::decode(&bytes).unwrap(), first);
    assert_eq!(first.is_personal("bizStep"), None);
    let second = v1(Some(first.hash().unwrap()), 1);
    assert_eq!(
        Leaf::decode(&second.encode().unwrap()).unwrap(),
        second.clone()
    );
    assert_eq!(verify_chain(&[first.clone(), second.clone()], &[]), Ok(()));
    let mut forged = second.clone();
    forged.prev = Prev::Plain(Some(Hash([0; 32])));
    assert_eq!(
        verify_chain(&[first.clone(), forged], &[]),
        Err(LeafError::BrokenChain(1))
    );
    // A version-2 leaf may follow a version-1 one in a device's chain.
    let third = sample(Some(second.hash().unwrap()), 2);
    assert_eq!(
        verify_chain(
            &[first, second, third.leaf],
            &[None, None, Some(third.prev.salt)]
        ),
        Ok(())
    );
    let mut bad = v1(None, 0);
    bad.personal = vec!["bizStep".to_owned()];
    assert_eq!(bad.encode(), Err(LeafError::PersonalInVersion1));
}

#[test]
fn decode_rejects_anything_not_canonical() {
    let bytes = sample(None, 0).leaf.encode().unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let v1_text = String::from_utf8(v1(None, 0).encode().unwrap()).unwrap();
    for bad in [
        text.replace("\"v\":2", "\"v\":3"),
        text.replace("\"v\":2", "\"v\":1"),
        v1_text.replace("\"v\":1", "\"v\":2"),
        v1_text.replace("\"prev\":null", "\"personal\":[],\"prev\":null"),
        text.replace("\"seq\":0", "\"seq\":0.5"),
        text.replace(
            "\"buyerEmail\",\"ownerName\"",
            "\"ownerName\",\"buyerEmail\"",
        ),
        text.replace(
            "\"buyerEmail\",\"ownerName\"",
            "\"buyerEmail\",\"buyerEmail\"",
        ),
        text.replace("\"buyerEmail\",\"ownerName\"", "\"buyerEmail\",\"zzz\""),
        text.replace("\"buyerEmail\",\"ownerName\"", "\"buyerEmail\",1"),
        text.replace("\"personal\":[\"buyerEmail\",\"ownerName\"],", ""),
        v1_text.replace("\"prev\":null", "\"prev\":1"),
        text.replacen('{', "{ ", 1),
        text.replace("\"v\":2}", "\"v\":2,\"x\":1}"),
        text.replace("\"v\":2}", "\"v\":2.0}"),
        format!("{text}\n"),
        "[]".to_owned(),
        String::new(),
    ] {
        assert!(Leaf::decode(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn duplicate_fields_uncommitted_personal_names_and_oversized_leaves_are_refused() {
    let fields = vec![("a".to_owned(), json!(1)), ("a".to_owned(), json!(2))];
    let input = LeafInput {
        device: "d",
        event_id: "e",
        seq: 0,
        prev: None,
        fields: &fields,
        personal: &[],
    };
    assert_eq!(
        CommittedLeaf::build(input, counter_salts()),
        Err(LeafError::DuplicateField("a".into()))
    );
    let one = [("a".to_owned(), json!(1))];
    let input = LeafInput {
        fields: &one,
        personal: &["b".to_owned()],
        ..input
    };
    assert_eq!(
        CommittedLeaf::build(input, counter_salts()),
        Err(LeafError::PersonalNotCommitted("b".into()))
    );
    let fields: Vec<(String, Value)> = (0..2000)
        .map(|i| (format!("field-{i:05}"), json!(i)))
        .collect();
    let input = LeafInput {
        fields: &fields,
        personal: &[],
        ..input
    };
    assert!(matches!(
        CommittedLeaf::build(input, counter_salts()),
        Err(LeafError::TooLarge(_))
    ));
}

#[test]
fn personal_names_sort_by_utf16_code_units_like_jcs() {
    // U+1F600 (a surrogate pair in UTF-16) sorts before U+FF21.
    let mut names = vec![
        "\u{ff21}".to_owned(),
        "\u{1f600}".to_owned(),
        "a".to_owned(),
    ];
    sort_utf16(&mut names);
    assert_eq!(names, ["a", "\u{1f600}", "\u{ff21}"]);
}
