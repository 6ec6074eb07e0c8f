use super::testing::*;
use super::*;

fn catalogue() -> Vec<Flavor> {
    vec![
        flavor(1, 1, 1024, 20, "drbd", true),
        flavor(2, 1, 1024, 20, "ext_vlmc", true),
        flavor(3, 2, 2048, 20, "drbd", true),
        flavor(4, 2, 2048, 40, "ext_vlmc", true),
        flavor(5, 4, 4096, 40, "ext_vlmc", true),
        flavor(6, 8, 8192, 80, "ext_vlmc", false),
        flavor(7, 2, 4096, 20, "ext_vlmc", true),
    ]
}

#[test]
fn by_id() {
    let f = resolve(&catalogue(), &named("3"), None).unwrap();
    assert_eq!(f.name, "C2R2048D20drbd");
}

#[test]
fn by_exact_name() {
    let f = resolve(&catalogue(), &named("C4R4096D40ext_vlmc"), None).unwrap();
    assert_eq!(f.id, "5");
}

#[test]
fn unknown_name_suggests_close_ones() {
    let err = resolve(&catalogue(), &named("C2R2048D40ext_vlm"), None).unwrap_err();
    let Error::NotFound(m) = err else {
        panic!("{err:?}")
    };
    assert!(m.contains("no flavor with name 'C2R2048D40ext_vlm'"), "{m}");
    assert!(m.contains("did you mean: C2R2048D40ext_vlmc"), "{m}");
}

#[test]
fn unknown_id_is_not_found() {
    let err = resolve(&catalogue(), &named("99"), None).unwrap_err();
    assert!(matches!(err, Error::NotFound(ref m) if m.contains("no flavor with id '99'")));
}

#[test]
fn shape_picks_the_smallest_fitting_preferring_ext_vlmc() {
    let f = resolve(&catalogue(), &shape(1, 512, None), None).unwrap();
    assert_eq!(f.id, "2", "same shape: ext_vlmc wins over drbd");
    let f = resolve(&catalogue(), &shape(2, 2048, None), None).unwrap();
    assert_eq!(f.id, "3", "the smaller disk wins before the template");
    let f = resolve(&catalogue(), &shape(2, 2048, Some(30)), None).unwrap();
    assert_eq!(f.id, "4");
    let f = resolve(&catalogue(), &shape(2, 3000, None), None).unwrap();
    assert_eq!(f.id, "7");
}

#[test]
fn configured_template_preference() {
    let f = resolve(&catalogue(), &shape(1, 1024, None), Some("drbd")).unwrap();
    assert_eq!(f.id, "1");
    let f = resolve(&catalogue(), &shape(1, 1024, None), Some("ext_archipelago")).unwrap();
    assert_eq!(f.id, "2", "then ext_vlmc");
}

#[test]
fn shape_skips_flavors_that_do_not_allow_creation() {
    let err = resolve(&catalogue(), &shape(8, 8192, None), None).unwrap_err();
    let Error::Invalid(m) = err else {
        panic!("{err:?}")
    };
    assert!(m.contains("no flavor offers 8 CPUs, 8192 MB RAM"), "{m}");
    assert!(m.contains("largest available is C4R4096D40ext_vlmc"), "{m}");
}

#[test]
fn nothing_at_all() {
    let err = resolve(&[], &shape(1, 1, None), None).unwrap_err();
    assert!(matches!(err, Error::Invalid(ref m) if m.contains("no flavor that allows")));
}

#[test]
fn close_matches_rank_and_limit() {
    let names = [
        "Ubuntu-14.04",
        "Ubuntu-16.04",
        "ubuntu server",
        "Debian-8",
        "CentOS-7",
        "Ubuntu-12.04",
        "Ubuntu-18.04",
        "Ubuntu-20.04",
    ];
    let m = close_matches("ubuntu-14.04", &names, 5);
    assert_eq!(m.len(), 5);
    assert_eq!(m[0], "Ubuntu-14.04");
    assert!(!m.contains(&"Debian-8".to_string()));
    assert!(close_matches("zzzzzzzz", &names, 5).is_empty());
    assert_eq!(close_matches("debian", &names, 5), vec!["Debian-8"]);
}

#[test]
fn edit_distance() {
    assert_eq!(levenshtein("kitten", "sitting"), 3);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(levenshtein("same", "same"), 0);
}

#[test]
fn sort_stable_orders_like_std_stable_sort() {
    let items: Vec<(u8, usize)> = [3, 1, 2, 3, 1, 0, 2, 2, 9, 1]
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i))
        .collect();
    let mut ours = items.clone();
    sort_stable(&mut ours, |a, b| a.0 < b.0);
    let mut std = items;
    std.sort_by_key(|x| x.0);
    assert_eq!(ours, std);
    let mut empty: Vec<u8> = vec![];
    sort_stable(&mut empty, |a, b| a < b);
}
