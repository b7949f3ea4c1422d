//! The one place the apps read the clock (`SOURCE_DATE_EPOCH` wins, for reproducible
//! releases and tests).

/// This year and today's date (`YYYY-MM-DD`), in UTC.
pub fn today() -> (u64, String) {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let (year, _, _) = ferry_core::date::civil_from_unix(secs);
    (year.max(1970) as u64, ferry_core::date::iso_date(secs))
}
