use super::*;

fn member(id: &str, name: &str, region: &str, since: Micros) -> Member {
    Member {
        id: id.into(),
        name: name.into(),
        region: region.into(),
        since,
    }
}

fn names(r: &Roster) -> Vec<(String, Vec<String>)> {
    (r.by_region().into_iter())
        .map(|(region, ms)| {
            (
                region.to_owned(),
                ms.iter().map(|m| m.name.clone()).collect(),
            )
        })
        .collect()
}

/// A join adds once, a second join of the same connection changes nothing; a leave removes
/// once, a second leave (or one of a stranger) changes nothing.
#[test]
fn joins_and_leaves_are_idempotent() {
    let mut r = Roster::default();
    let ana = member("us-1.1", "Ana", "us", 10);
    assert!(r.join(ana.clone()));
    assert!(!r.join(ana.clone()), "a duplicate join");
    assert_eq!(r.count(), 1);
    assert!(r.leave(&ana));
    assert!(!r.leave(&ana), "a duplicate leave");
    assert!(!r.leave(&member("eu-1.1", "Ben", "eu", 5)), "never listed");
    assert_eq!(r.count(), 0);
}

/// A fresh list replaces everything the pane knew, whatever joins and leaves came before;
/// changes after it apply to it.
#[test]
fn a_fresh_list_replaces_what_was_known() {
    let mut r = Roster::listed(
        2,
        vec![
            member("us-1.1", "Ana", "us", 1),
            member("eu-1.1", "Ben", "eu", 2),
        ],
    );
    r.join(member("as-1.1", "Chen", "as", 3));
    assert_eq!(r.count(), 3);
    // The region relisted: Ben is gone (his leave was lost with the broker), Dee is new.
    r = Roster::listed(
        2,
        vec![
            member("as-1.1", "Chen", "as", 3),
            member("eu-2.1", "Dee", "eu", 4),
        ],
    );
    assert_eq!(
        names(&r),
        [
            ("as".into(), vec!["Chen".into()]),
            ("eu".into(), vec!["Dee".into()])
        ]
    );
    assert!(!r.has("us-1.1") && !r.has("eu-1.1"));
    assert!(!r.join(member("as-1.1", "Chen", "as", 3)), "listed already");
    assert!(r.leave(&member("eu-2.1", "Dee", "eu", 4)));
    assert_eq!(r.count(), 1);
}

/// Beyond the region's listing bound the count stays exact: a leave of an unlisted member
/// takes one off the unlisted, never below zero.
#[test]
fn the_count_stays_exact_beyond_the_list() {
    let mut r = Roster::listed(1_002, vec![member("us-1.1", "Ana", "us", 1)]);
    assert_eq!((r.count(), r.unlisted()), (1_002, 1_001));
    assert!(r.leave(&member("eu-9.9", "Zed", "eu", 9)));
    assert_eq!(r.count(), 1_001);
    let mut small = Roster::listed(1, vec![member("us-1.1", "Ana", "us", 1)]);
    assert!(!small.leave(&member("eu-9.9", "Zed", "eu", 9)));
    assert_eq!(small.count(), 1);
}

/// Each region's members are listed oldest first.
#[test]
fn members_are_grouped_by_region_oldest_first() {
    let r = Roster::listed(
        3,
        vec![
            member("us-1.2", "Later", "us", 20),
            member("us-1.1", "Earlier", "us", 10),
            member("as-1.1", "Chen", "as", 5),
        ],
    );
    assert_eq!(
        names(&r),
        [
            ("as".into(), vec!["Chen".into()]),
            ("us".into(), vec!["Earlier".into(), "Later".into()])
        ]
    );
}

/// One row per change, however many panes were told; each pane's first receipt is kept; a
/// second subscription of the same connection is a change of its own.
#[test]
fn each_change_is_one_row_with_every_panes_receipt() {
    let mut c = Changes::default();
    let global: Channel = "global".into();
    let ana = member("us-1.1", "Ana", "us", 100);
    assert!(c.note(&global, Kind::Join, &ana, (0, 3), 110, None));
    assert!(!c.note(&global, Kind::Join, &ana, (2, 3), 150, None));
    assert!(
        !c.note(&global, Kind::Join, &ana, (2, 3), 999, None),
        "told twice"
    );
    assert!(c.note(&global, Kind::Leave, &ana, (1, 3), 500, None));
    let again = member("us-1.1", "Ana", "us", 600);
    assert!(c.note(&global, Kind::Join, &again, (1, 3), 610, None));
    assert!(c.note(&"room-1".into(), Kind::Join, &ana, (1, 3), 120, None));
    assert_eq!(c.len(), 4);
    let first = c.iter().next().unwrap();
    assert_eq!(first.seen, [Some(110), None, Some(150)]);
    let order: Vec<(Kind, Micros)> = (c.newest_first(Some("global")).iter())
        .map(|c| (c.kind, c.at()))
        .collect();
    assert_eq!(
        order,
        [(Kind::Join, 600), (Kind::Leave, 500), (Kind::Join, 100)]
    );
    assert_eq!(c.newest_first(None).len(), 4);
}

#[test]
fn the_changes_kept_are_bounded() {
    let mut c = Changes::default();
    let global: Channel = "global".into();
    for n in 0..(MAX_CHANGES as u64 + 5) {
        let m = member(&format!("us-1.{n}"), "x", "us", n);
        c.note(&global, Kind::Join, &m, (0, 1), n, None);
    }
    assert_eq!((c.len(), c.dropped), (MAX_CHANGES, 5));
    assert_eq!(c.iter().next().unwrap().member.since, 5, "the oldest went");
}

/// The pane whose own client a member is is not due its changes, whether that is known when
/// the change is noted or only once its welcome comes.
#[test]
fn a_panes_own_client_is_not_due_its_own_changes() {
    let mut c = Changes::default();
    let global: Channel = "global".into();
    let guest = member("us-1.1", "guest US", "us", 1);
    c.note(&global, Kind::Leave, &guest, (0, 3), 10, Some(1));
    let ana = member("us-1.2", "Ana", "us", 5);
    c.note(&global, Kind::Join, &ana, (0, 3), 12, None);
    c.own("us-1.2", 1);
    for change in c.iter() {
        assert!(change.due(0) && !change.due(1) && change.due(2));
    }
}
