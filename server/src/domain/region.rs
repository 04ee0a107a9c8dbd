//! Regions and warranty coverage (docs/device-lifecycle.md, "Warranty
//! providers"). A region is a named list of countries, each with one time
//! zone; a country is in at most one region. Staff assign a warranty
//! provider per product and region; a unit's region is the region of the
//! country of the organisation that holds it, so its warranty provider is a
//! function of (its product, its holder, the assignments at that position).
//! Pure: no I/O.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use super::custody::{Builder, Interval, Kind};

/// Longest region name.
pub const MAX_NAME: usize = 64;
/// Most countries in one region (there are 249 ISO 3166-1 codes).
pub const MAX_COUNTRIES: usize = 300;

/// Why a region definition was refused: (field, reason).
pub type Invalid = (&'static str, String);

/// A checked region: a name of lower-case letters, digits and hyphens, and
/// distinct ISO 3166-1 alpha-2 countries with IANA time zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    /// (country, time zone), sorted by country.
    pub countries: Vec<(String, String)>,
}

impl Region {
    pub fn parse(name: &str, countries: &[(String, String)]) -> Result<Self, Invalid> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err((
                "name",
                format!("1 to {MAX_NAME} lower-case letters, digits and hyphens"),
            ));
        }
        if countries.is_empty() || countries.len() > MAX_COUNTRIES {
            return Err(("countries", format!("1 to {MAX_COUNTRIES} countries")));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(countries.len());
        for (country, zone) in countries {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err((
                    "countries",
                    "each country is an ISO 3166-1 alpha-2 code such as DE".into(),
                ));
            }
            if !seen.insert(country.as_str()) {
                return Err(("countries", format!("{country} is listed twice")));
            }
            if zone.len() > 64 || chrono_tz::Tz::from_str(zone).is_err() {
                return Err((
                    "countries",
                    format!("{country}: not an IANA time zone name such as Europe/Berlin"),
                ));
            }
            out.push((country.clone(), zone.clone()));
        }
        out.sort();
        Ok(Self {
            name: name.to_owned(),
            countries: out,
        })
    }
}

/// A warranty provider assigned to a product in a region, over `[from, to)`
/// in log positions (the tree sizes at the assignment and at the next one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub product: i64,
    pub region: i64,
    pub organisation: i64,
    pub from: u64,
    pub to: Option<u64>,
}

/// What decides a unit's warranty provider: the regions' countries, the
/// organisations' countries and the assignments.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    region_of_country: HashMap<String, i64>,
    country_of_org: HashMap<i64, String>,
    assignments: HashMap<(i64, i64), Vec<Assignment>>,
}

impl Coverage {
    pub fn new(
        region_of_country: HashMap<String, i64>,
        country_of_org: HashMap<i64, String>,
        assignments: impl IntoIterator<Item = Assignment>,
    ) -> Self {
        let mut by_key: HashMap<(i64, i64), Vec<Assignment>> = HashMap::new();
        for a in assignments {
            by_key.entry((a.product, a.region)).or_default().push(a);
        }
        Self {
            region_of_country,
            country_of_org,
            assignments: by_key,
        }
    }

    /// No assignment at all: no unit has a warranty provider.
    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
    }

    /// The region of the organisation's registered country.
    pub fn region_of(&self, org: i64) -> Option<i64> {
        self.region_of_country
            .get(self.country_of_org.get(&org)?)
            .copied()
    }

    /// The warranty provider of a unit of `product` held by `holder`, at
    /// log position `pos`.
    pub fn provider_at(&self, product: i64, holder: Option<i64>, pos: u64) -> Option<i64> {
        let region = self.region_of(holder?)?;
        self.assignments
            .get(&(product, region))?
            .iter()
            .find(|a| a.from <= pos && a.to.is_none_or(|t| pos < t))
            .map(|a| a.organisation)
    }

    /// The warranty-provider intervals the holder intervals and the
    /// assignments imply (the audit's and the data step's recomputation):
    /// at each position where a unit's holder or an assignment of its
    /// product changes, its provider is [`Self::provider_at`] there.
    /// `product_of` maps device rows to product rows.
    pub fn intervals(&self, holders: &[Interval], product_of: &HashMap<i64, i64>) -> Vec<Interval> {
        let mut by_product: HashMap<i64, BTreeSet<u64>> = HashMap::new();
        for ((product, _), list) in &self.assignments {
            let points = by_product.entry(*product).or_default();
            for a in list {
                points.insert(a.from);
                points.extend(a.to);
            }
        }
        let mut by_device: HashMap<i64, Vec<&Interval>> = HashMap::new();
        for h in holders.iter().filter(|h| h.kind == Kind::Holder) {
            by_device.entry(h.device).or_default().push(h);
        }
        let mut builder = Builder::default();
        let mut devices: Vec<i64> = by_device.keys().copied().collect();
        devices.sort_unstable();
        for device in devices {
            let Some(product) = product_of.get(&device) else {
                continue;
            };
            let Some(assigned) = by_product.get(product) else {
                continue;
            };
            let spans = &by_device[&device];
            let first = spans.iter().map(|h| h.from).min().unwrap_or(0);
            let mut points: BTreeSet<u64> = assigned.range(first..).copied().collect();
            for h in spans {
                points.insert(h.from);
                points.extend(h.to);
            }
            for pos in points {
                let holder = spans.iter().find(|h| h.contains(pos)).map(|h| h.party);
                let provider = self.provider_at(*product, holder, pos);
                builder.change(device, Kind::WarrantyProvider, provider, pos);
            }
        }
        builder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(device: i64, party: i64, from: u64, to: Option<u64>) -> Interval {
        Interval {
            device,
            kind: Kind::Holder,
            party,
            from,
            to,
        }
    }

    fn provider(device: i64, party: i64, from: u64, to: Option<u64>) -> Interval {
        Interval {
            device,
            kind: Kind::WarrantyProvider,
            party,
            from,
            to,
        }
    }

    /// Region 1 = DE and AT, region 2 = NL; organisation 10 is in DE, 11 in
    /// NL, 12 in SE (no region); product 7 is covered by 50 in region 1
    /// from position 5, and by 60 in region 2 from 0 to 20.
    fn coverage() -> Coverage {
        Coverage::new(
            [("DE".into(), 1), ("AT".into(), 1), ("NL".into(), 2)].into(),
            [(10, "DE".into()), (11, "NL".into()), (12, "SE".into())].into(),
            [
                Assignment {
                    product: 7,
                    region: 1,
                    organisation: 50,
                    from: 5,
                    to: None,
                },
                Assignment {
                    product: 7,
                    region: 2,
                    organisation: 60,
                    from: 0,
                    to: Some(20),
                },
            ],
        )
    }

    #[test]
    fn the_provider_follows_the_holders_country_and_the_assignment() {
        let c = coverage();
        assert_eq!(c.provider_at(7, Some(10), 4), None, "before the assignment");
        assert_eq!(c.provider_at(7, Some(10), 5), Some(50));
        assert_eq!(c.provider_at(7, Some(11), 19), Some(60));
        assert_eq!(c.provider_at(7, Some(11), 20), None, "after it ended");
        assert_eq!(
            c.provider_at(7, Some(12), 30),
            None,
            "a country in no region"
        );
        assert_eq!(c.provider_at(7, None, 30), None, "installed: no holder");
        assert_eq!(c.provider_at(8, Some(10), 30), None, "another product");
    }

    #[test]
    fn recomputed_intervals_change_only_where_the_provider_does() {
        let c = coverage();
        let holders = [
            // Commissioned in DE at 2, shipped to NL and received at 10,
            // installed (no holder) at 25, removed in SE at 30.
            holder(1, 10, 2, Some(10)),
            holder(1, 11, 10, Some(25)),
            holder(1, 12, 30, None),
            // Held in DE throughout: one interval from the assignment on.
            holder(2, 10, 0, None),
        ];
        let products = [(1, 7), (2, 7)].into();
        assert_eq!(
            c.intervals(&holders, &products),
            vec![
                provider(1, 50, 5, Some(10)),
                provider(1, 60, 10, Some(20)),
                provider(2, 50, 5, None),
            ]
        );
    }

    #[test]
    fn region_definitions_are_checked() {
        let ok = |n: &str, c: &[(&str, &str)]| {
            Region::parse(
                n,
                &c.iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect::<Vec<_>>(),
            )
        };
        assert!(ok("dach", &[("DE", "Europe/Berlin"), ("AT", "Europe/Vienna")]).is_ok());
        assert_eq!(
            ok("Dach", &[("DE", "Europe/Berlin")]).unwrap_err().0,
            "name"
        );
        assert_eq!(ok("dach", &[]).unwrap_err().0, "countries");
        assert_eq!(
            ok("dach", &[("de", "Europe/Berlin")]).unwrap_err().0,
            "countries"
        );
        assert_eq!(
            ok("dach", &[("DE", "Mars/Olympus")]).unwrap_err().0,
            "countries"
        );
        assert_eq!(
            ok("dach", &[("DE", "Europe/Berlin"), ("DE", "Europe/Berlin")])
                .unwrap_err()
                .0,
            "countries"
        );
    }
}
