//! Country lookup for `GeoMatchStatement`, from an operator-supplied country database in
//! MaxMind DB (MMDB) format: MaxMind's GeoLite2-Country / GeoIP2-Country (or City, which
//! has the same `country` maps), or DB-IP's free country lite database.
//!
//! A record's country is its `country.iso_code`; records without one (for example
//! networks of satellite providers or anycast networks in some databases) fall back to
//! `registered_country.iso_code`, the country in which the network is registered.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as the IPv4 address they
//! carry; IPv4 addresses in an IPv6 database are looked up in its `::/96` subtree, as
//! MaxMind's readers do.
//!
//! The whole file is read into memory; lookups walk the search tree (at most 128 steps)
//! and decode only the two `iso_code` fields of the record. A corrupt file never panics:
//! lookups that run into damaged data return `None`.

use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// Networks of the search tree (with or without data) that [`GeoDb::from_bytes`] looks
/// through for a country code before it decides that the database has no country data.
/// Real country and city databases have one among their very first networks; the bound
/// keeps the check quick on any file, damaged ones included.
const COUNTRY_PROBE_LIMIT: usize = 1 << 12;

/// A country database (MMDB).
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
}

/// The part of a record that [`GeoDb::country`] reads; every other field is skipped.
#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<IsoCode<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

impl CountryRecord<'_> {
    /// The first usable code: `country.iso_code`, else `registered_country.iso_code`.
    fn code(&self) -> Option<[u8; 2]> {
        [&self.country, &self.registered_country]
            .into_iter()
            .find_map(|c| c.as_ref().and_then(|c| c.iso_code).and_then(alpha2))
    }
}

/// An ISO 3166-1 alpha-2 code, uppercased; anything else is `None`.
fn alpha2(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

impl GeoDb {
    /// Reads the database at `path` into memory.
    ///
    /// Errors name the path and say whether the file could not be read, is not an MMDB
    /// file, or holds no country data (an ASN database, for example).
    pub fn open(path: &Path) -> Result<GeoDb, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read country database {}: {e}", path.display()))?;
        GeoDb::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A database from the bytes of an MMDB file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, String> {
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| format!("not a valid MaxMind DB (MMDB) country database: {e}"))?;
        let db = GeoDb { reader };
        if !db.has_country_data() {
            return Err(format!(
                "the MaxMind DB (database type {:?}) has no country data: no record has \
                 country.iso_code or registered_country.iso_code",
                db.database_type()
            ));
        }
        Ok(db)
    }

    /// ISO 3166-1 alpha-2 code of the IP's country (`country.iso_code`, else
    /// `registered_country.iso_code`), uppercase. `None` when the database has no record
    /// for the address, the record has no country code, or the record cannot be read.
    pub fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        // An IPv6 address in an IPv4 database is an error of the reader: `None`.
        let found = self.reader.lookup(ip).ok()?;
        let record: CountryRecord<'_> = found.decode().ok()??;
        record.code()
    }

    /// The database type from the metadata, e.g. `"GeoLite2-Country"`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The IP version of the search tree: 6 (IPv6 and IPv4) or 4 (IPv4 only).
    pub fn ip_version(&self) -> u16 {
        self.reader.metadata().ip_version
    }

    /// When the database was built, in seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// A full check of the file: the whole search tree and every record it points to.
    /// Slower than opening (it reads everything) and stricter than the format requires;
    /// meant for a configuration check, not for every load.
    pub fn verify(&self) -> Result<(), String> {
        self.reader
            .verify()
            .map_err(|e| format!("the MaxMind DB is damaged: {e}"))
    }

    /// Whether one of the first [`COUNTRY_PROBE_LIMIT`] networks of the tree has a country
    /// code. Every network (aliases and networks without data too) counts towards the
    /// limit, so a damaged or cyclic tree cannot make this loop long.
    fn has_country_data(&self) -> bool {
        let options = maxminddb::WithinOptions::default()
            .include_aliased_networks()
            .include_networks_without_data();
        let Ok(networks) = self.reader.networks(options) else {
            return false;
        };
        networks.take(COUNTRY_PROBE_LIMIT).flatten().any(|found| {
            matches!(
                found.decode::<CountryRecord<'_>>(),
                Ok(Some(record)) if record.code().is_some()
            )
        })
    }
}

impl fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metadata = self.reader.metadata();
        f.debug_struct("GeoDb")
            .field("database_type", &metadata.database_type)
            .field("ip_version", &metadata.ip_version)
            .field("record_size", &metadata.record_size)
            .field("node_count", &metadata.node_count)
            .field("build_epoch", &metadata.build_epoch)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::alpha2;

    #[test]
    fn alpha2_codes() {
        assert_eq!(alpha2("NL"), Some(*b"NL"));
        assert_eq!(alpha2("nl"), Some(*b"NL"));
        assert_eq!(alpha2(""), None);
        assert_eq!(alpha2("N"), None);
        assert_eq!(alpha2("NLD"), None);
        assert_eq!(alpha2("N1"), None);
        assert_eq!(alpha2("é"), None);
    }
}
