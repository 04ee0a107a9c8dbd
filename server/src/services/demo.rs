//! Demo data for `serve --demo`: the organisations of an e-bike battery
//! pack supply chain and one persona per role. Seeding is idempotent: what
//! exists is kept.

use std::time::Duration;

use super::Portal;
use crate::auth::Role;
use crate::domain::organisation::{NewOrganisation, OrganisationKind, Slug};

/// Demo tokens live a day.
pub const DEMO_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// (slug, name, kind, country)
const ORGANISATIONS: &[(&str, &str, OrganisationKind, &str)] = &[
    (
        "ampera",
        "Ampera Battery Systems GmbH",
        OrganisationKind::Manufacturer,
        "DE",
    ),
    (
        "cellwerk",
        "Cellwerk Modules s.r.o.",
        OrganisationKind::Supplier,
        "CZ",
    ),
    (
        "brightlogic",
        "BrightLogic Electronics Ltd.",
        OrganisationKind::Supplier,
        "TW",
    ),
    (
        "veloparts-eu",
        "VeloParts Europe B.V.",
        OrganisationKind::Distributor,
        "NL",
    ),
    (
        "nordcycle",
        "NordCycle Distribution AB",
        OrganisationKind::Distributor,
        "SE",
    ),
    (
        "wheelworks",
        "WheelWorks Service GmbH",
        OrganisationKind::ServicePartner,
        "DE",
    ),
    (
        "pedalfix",
        "PedalFix Atelier SARL",
        OrganisationKind::ServicePartner,
        "FR",
    ),
    (
        "securecover",
        "SecureCover Warranty Ltd.",
        OrganisationKind::WarrantyProvider,
        "IE",
    ),
    (
        "eu-msa",
        "Market Surveillance Authority for Batteries",
        OrganisationKind::Regulator,
        "DE",
    ),
];

/// (persona, role, organisation slug): one printed token line each.
pub const PERSONAS: &[(&str, Role, &str)] = &[
    ("admin", Role::Admin, "ampera"),
    ("staff", Role::Staff, "ampera"),
    ("distributor", Role::Distributor, "veloparts-eu"),
    ("distributor", Role::Distributor, "nordcycle"),
    ("service_partner", Role::ServicePartner, "wheelworks"),
    ("service_partner", Role::ServicePartner, "pedalfix"),
    ("warranty_agent", Role::WarrantyAgent, "securecover"),
    ("regulator", Role::Regulator, "eu-msa"),
    ("auditor", Role::Auditor, "eu-msa"),
];

/// A printed demo token.
#[derive(Debug)]
pub struct DemoToken {
    pub persona: &'static str,
    pub org: &'static str,
    pub jwt: String,
}

impl Portal {
    /// Seeds what is missing of the demo data.
    pub async fn seed_demo(&self) -> anyhow::Result<()> {
        for (slug, name, kind, country) in ORGANISATIONS {
            let new = NewOrganisation {
                slug: Slug::parse(slug).map_err(anyhow::Error::msg)?,
                name: (*name).to_owned(),
                kind: *kind,
                country: Some((*country).to_owned()),
            };
            self.store.ensure_organisation(&new).await?;
        }
        Ok(())
    }

    /// One fresh token per demo persona.
    pub async fn demo_tokens(&self) -> anyhow::Result<Vec<DemoToken>> {
        let mut out = Vec::with_capacity(PERSONAS.len());
        for (persona, role, org) in PERSONAS {
            let subject = format!("demo-{persona}@{org}");
            let jwt = self
                .issue_token(*role, Some(org), Some(&subject), DEMO_TOKEN_TTL)
                .await?;
            out.push(DemoToken { persona, org, jwt });
        }
        Ok(out)
    }
}
