//! `[[reply]]`: attributes added to an Accept by AD group, by client or by the upstream's
//! Class, so a VPN picks a group policy (Cisco ASA's `Class = "OU=vpn-admins;"`, FortiGate's
//! Fortinet-Group-Name, Palo Alto's PaloAlto-User-Group). Names come from the built-in
//! dictionary (`crate::radius::dictionary`); an unknown name is a config error.

use serde::Deserialize;

use super::{invalid, ConfigError};
use crate::auth::Attribute;
use crate::radius::dictionary::{self, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyRaw {
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    clients: Vec<String>,
    #[serde(default)]
    upstream_class: Vec<String>,
    #[serde(default)]
    attributes: toml::Table,
}

/// One rule; the first whose conditions all hold adds its attributes.
#[derive(Debug, Clone)]
pub struct ReplyRule {
    pub name: String,
    /// AD groups (nested count); the user must be in one. Empty: any user.
    pub groups: Vec<String>,
    /// RADIUS client names; empty: any client.
    pub clients: Vec<String>,
    /// Class values granted by the upstream; empty: any (or none).
    pub upstream_class: Vec<Vec<u8>>,
    /// In the order written (several values of one attribute in an array are kept in order).
    pub attributes: Vec<Attribute>,
}

impl ReplyRaw {
    pub(super) fn validate(self, i: usize) -> Result<ReplyRule, ConfigError> {
        let key = |k: &str| format!("reply[{i}].{k}");
        let name = self
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| invalid(key("name"), "missing (it names the rule in the log)"))?;
        for (j, g) in self.groups.iter().enumerate() {
            if !g.contains('=') {
                return Err(invalid(
                    format!("reply[{i}].groups[{j}]"),
                    format!("\"{g}\" is not a distinguished name"),
                ));
            }
        }
        if self.attributes.is_empty() {
            return Err(invalid(
                key("attributes"),
                "name at least one attribute (e.g. { Class = \"OU=vpn-admins;\" })",
            ));
        }
        let mut attributes = Vec::new();
        for (attr, v) in &self.attributes {
            let akey = format!("reply[{i}].attributes.{attr}");
            let values: Vec<&toml::Value> = match v {
                toml::Value::Array(a) => a.iter().collect(),
                one => vec![one],
            };
            for v in values {
                let value = match v {
                    toml::Value::String(s) => Value::Text(s.clone()),
                    toml::Value::Integer(n) => Value::Integer(*n),
                    _ => {
                        return Err(invalid(
                            &akey,
                            "must be a string, an integer or an array of them",
                        ))
                    }
                };
                let a = dictionary::parse_assignment(attr, &value)
                    .map_err(|e| invalid(&akey, e.to_string()))?;
                let mut wire = Vec::new();
                dictionary::encode(&a, &mut wire).map_err(|e| invalid(&akey, e.to_string()))?;
                // One attribute as encoded: its value follows the type/length header (and, for
                // a vendor's, the vendor id and the sub-attribute header).
                let value = if a.def.vendor == 0 {
                    wire.get(2..)
                } else {
                    wire.get(8..)
                };
                let value = value
                    .ok_or_else(|| invalid(&akey, "internal: attribute encoding"))?
                    .to_vec();
                attributes.push(Attribute::new(a.def.vendor, a.def.code, value));
            }
        }
        Ok(ReplyRule {
            name,
            groups: self.groups,
            clients: self.clients,
            upstream_class: self
                .upstream_class
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            attributes,
        })
    }
}
