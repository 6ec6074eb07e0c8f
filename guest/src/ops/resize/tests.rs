use super::*;
use crate::sizing::testing::{flavor, named, shape};

fn flavors() -> Vec<protocol::Flavor> {
    vec![
        flavor(1, 1, 1024, 20, "ext_vlmc", true),
        flavor(2, 2, 2048, 20, "ext_vlmc", true),
        flavor(3, 2, 2048, 40, "ext_vlmc", true),
        flavor(4, 4, 4096, 20, "ext_vlmc", true),
        flavor(5, 4, 4096, 20, "drbd", true),
    ]
}

#[test]
fn resize_plans() {
    let fl = flavors();
    let cur = &fl[1];
    assert!(matches!(plan(cur, &fl, &named("2")), Ok(ResizePlan::Already(ref f)) if f.id == "2"));
    assert!(matches!(
        plan(cur, &fl, &named("C2R2048D20ext_vlmc")),
        Ok(ResizePlan::Already(_))
    ));
    assert!(matches!(plan(cur, &fl, &named("4")), Ok(ResizePlan::MoveTo(ref f)) if f.id == "4"));
    assert!(
        matches!(plan(cur, &fl, &shape(3, 3000, None)), Ok(ResizePlan::MoveTo(ref f)) if f.id == "4")
    );
    assert!(matches!(
        plan(cur, &fl, &shape(2, 2048, None)),
        Ok(ResizePlan::Already(_))
    ));
    assert!(
        matches!(plan(cur, &fl, &shape(1, 512, Some(10))), Ok(ResizePlan::MoveTo(ref f)) if f.id == "1")
    );
    let err = plan(cur, &fl, &named("C2R2048D40ext_vlmc")).unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref m) if m.contains("must stay 20 GB ext_vlmc") && m.contains("flavors that fit with that disk: C2R2048D20ext_vlmc, C4R4096D20ext_vlmc")),
        "{err:?}"
    );
    let err = plan(cur, &fl, &named("5")).unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref m) if m.contains("20 GB drbd disk")),
        "{err:?}"
    );
    let err = plan(cur, &fl, &shape(2, 2048, Some(40))).unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref m) if m.contains("40 GB of disk")),
        "{err:?}"
    );
    let err = plan(cur, &fl, &shape(16, 1, None)).unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref m) if m.contains("largest is C4R4096D20ext_vlmc")),
        "{err:?}"
    );
    assert!(matches!(
        plan(cur, &fl, &named("C9")),
        Err(Error::NotFound(_))
    ));
}
