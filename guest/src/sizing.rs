//! Choosing a flavor: by id, by name, or the smallest one that fits a CPU/RAM(/disk) shape;
//! and the "did you mean" suggestions for names that match nothing.

use std::cmp::Ordering;

use strsim::levenshtein;

use crate::Error;
use crate::protocol::Flavor;

/// The disk template preferred when several flavors fit a shape equally and the host
/// configuration names none.
pub const DEFAULT_TEMPLATE: &str = "ext_vlmc";

/// What a caller asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SizeRequest {
    /// A flavor id (digits) or name.
    Named(String),
    Shape {
        cpus: u32,
        ram_mb: u32,
        disk_gb: Option<u32>,
    },
}

/// Resolves a size against the flavor list. `preferred_template` breaks ties between flavors
/// of the same shape (`None` → prefer `ext_vlmc`).
pub fn resolve(
    flavors: &[Flavor],
    size: &SizeRequest,
    preferred_template: Option<&str>,
) -> Result<Flavor, Error> {
    match size {
        SizeRequest::Named(name) => by_name_or_id(flavors, name),
        SizeRequest::Shape {
            cpus,
            ram_mb,
            disk_gb,
        } => smallest_fitting(flavors, *cpus, *ram_mb, *disk_gb, preferred_template)
            .cloned()
            .ok_or_else(|| no_fit(flavors, *cpus, *ram_mb, *disk_gb)),
    }
}

/// A flavor by id (all digits) or exact name.
pub fn by_name_or_id(flavors: &[Flavor], name: &str) -> Result<Flavor, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(
            "an empty flavor name was given; name a flavor (e.g. C2R2048D20ext_vlmc) or give a CPU/RAM shape".into(),
        ));
    }
    let is_id = name.bytes().all(|b| b.is_ascii_digit());
    let found = if is_id {
        flavors.iter().find(|f| f.id == name)
    } else {
        None
    }
    .or_else(|| flavors.iter().find(|f| f.name == name));
    if let Some(f) = found {
        return Ok(f.clone());
    }
    let what = if is_id { "id" } else { "name" };
    let names: Vec<&str> = flavors.iter().map(|f| f.name.as_str()).collect();
    Err(Error::NotFound(format!(
        "no flavor with {what} '{name}'{}",
        suggestion_text(&close_matches(name, &names, 5))
    )))
}

/// The smallest flavor that allows creation and has at least the requested resources,
/// ordered by (cpus, ram, disk, template preference, name).
pub fn smallest_fitting<'a>(
    flavors: &'a [Flavor],
    cpus: u32,
    ram_mb: u32,
    disk_gb: Option<u32>,
    preferred_template: Option<&str>,
) -> Option<&'a Flavor> {
    flavors
        .iter()
        .filter(|f| f.allow_create && fits(f, cpus, ram_mb, disk_gb))
        .min_by(|a, b| order(a, b, preferred_template))
}

/// Whether a flavor offers at least the shape.
pub fn fits(f: &Flavor, cpus: u32, ram_mb: u32, disk_gb: Option<u32>) -> bool {
    f.vcpus >= cpus && f.ram >= ram_mb && disk_gb.is_none_or(|d| f.disk >= d)
}

fn template_rank(template: &str, preferred: Option<&str>) -> u8 {
    match preferred {
        Some(p) if template == p => 0,
        Some(_) if template == DEFAULT_TEMPLATE => 1,
        None if template == DEFAULT_TEMPLATE => 0,
        _ => 2,
    }
}

fn order(a: &Flavor, b: &Flavor, preferred: Option<&str>) -> Ordering {
    (a.vcpus, a.ram, a.disk)
        .cmp(&(b.vcpus, b.ram, b.disk))
        .then_with(|| {
            template_rank(&a.disk_template, preferred)
                .cmp(&template_rank(&b.disk_template, preferred))
        })
        .then_with(|| a.name.cmp(&b.name))
}

fn no_fit(flavors: &[Flavor], cpus: u32, ram_mb: u32, disk_gb: Option<u32>) -> Error {
    let asked = describe_shape(cpus, ram_mb, disk_gb);
    let largest = flavors
        .iter()
        .filter(|f| f.allow_create)
        .max_by(|a, b| order(a, b, None).then(Ordering::Equal));
    match largest {
        Some(f) => Error::Invalid(format!(
            "no flavor offers {asked}; the largest available is {} ({} CPUs, {} MB RAM, {} GB disk): ask for at most that",
            f.name, f.vcpus, f.ram, f.disk
        )),
        None => Error::Invalid(format!(
            "no flavor offers {asked}: the cloud lists no flavor that allows creating VMs"
        )),
    }
}

/// `2 CPUs, 2048 MB RAM, 20 GB disk`.
pub fn describe_shape(cpus: u32, ram_mb: u32, disk_gb: Option<u32>) -> String {
    match disk_gb {
        Some(d) => format!("{cpus} CPUs, {ram_mb} MB RAM, {d} GB disk"),
        None => format!("{cpus} CPUs, {ram_mb} MB RAM"),
    }
}

/// `; did you mean: a, b?` or nothing.
pub fn suggestion_text(matches: &[String]) -> String {
    if matches.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = matches.iter().map(String::as_str).collect();
        format!("; did you mean: {}?", names.join(", "))
    }
}

/// Up to `max` candidates close to `query`: case-insensitive edit distance within about a
/// third of the length, a shared prefix of at least 3 characters, or containing the query.
/// Best first (smallest distance, then longest common prefix, then name).
pub fn close_matches(query: &str, candidates: &[&str], max: usize) -> Vec<String> {
    let q = query.to_lowercase();
    let qlen = q.chars().count();
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .iter()
        .filter(|c| !c.is_empty())
        .filter_map(|c| {
            let lc = c.to_lowercase();
            let dist = levenshtein(&q, &lc);
            let prefix = q
                .chars()
                .zip(lc.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let close = dist <= (qlen / 3).max(2)
                || prefix >= 3.min(qlen)
                || (qlen >= 3 && lc.contains(&q));
            close.then_some((dist, prefix, *c))
        })
        .collect();
    sort_stable(&mut scored, |a, b| {
        a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)) == Ordering::Less
    });
    let mut out: Vec<String> = Vec::new();
    for (_, _, c) in scored {
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
        if out.len() == max {
            break;
        }
    }
    out
}

/// Sorts `items` stably, `less` saying which of two goes first: an insertion sort, for the
/// short lists of flavors and names sorted here (std's sort is ~5 KB of the component for each
/// element type).
pub fn sort_stable<T>(items: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;
