//! Kubernetes resource quantities (`500m`, `4Gi`, `1.5`, `2e3`) as numbers, to compare a namespace's use
//! with a smaller quota profile. k8s-openapi keeps them as strings and does no arithmetic.
//!
//! As `f64`: exact for every whole number below 2^53 (memory up to 8 PiB in bytes) and for the thousandths
//! CPUs are counted in, which is all a comparison of quotas needs.

/// The value of `quantity`, or `None` if it is not one.
pub fn parse(quantity: &str) -> Option<f64> {
    let quantity = quantity.trim();
    let number_end =
        quantity.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(number_end);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            10f64.powi(exponent.parse::<i32>().ok()?)
        }
    };
    Some(number * factor)
}

/// Whether `used` is more than `limit` (both quantities); `false` when either is not a quantity.
pub fn exceeds(used: &str, limit: &str) -> bool {
    matches!((parse(used), parse(limit)), (Some(used), Some(limit)) if used > limit)
}

/// Whether `smaller` is at most `larger` (both quantities); `false` when either is not a quantity.
pub fn at_most(smaller: &str, larger: &str) -> bool {
    matches!((parse(smaller), parse(larger)), (Some(smaller), Some(larger)) if smaller <= larger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        for (quantity, value) in [
            ("2", 2.0),
            ("500m", 0.5),
            ("2500m", 2.5),
            ("1.5", 1.5),
            ("4Gi", 4.0 * 1024.0 * 1024.0 * 1024.0),
            ("128Mi", 128.0 * 1024.0 * 1024.0),
            ("1k", 1000.0),
            ("2e3", 2000.0),
            ("0", 0.0),
        ] {
            assert_eq!(parse(quantity), Some(value), "{quantity}");
        }
        for nonsense in ["", "Gi", "2 cpus", "1Xi", "e3"] {
            assert_eq!(parse(nonsense), None, "{nonsense:?}");
        }
    }

    #[test]
    fn use_is_compared_across_units() {
        assert!(exceeds("2500m", "2"));
        assert!(!exceeds("2", "2"));
        assert!(exceeds("5Gi", "4Gi"));
        assert!(!exceeds("4096Mi", "4Gi"), "the same amount");
        assert!(!exceeds("lots", "2"), "not a quantity: not known to exceed");
        assert!(at_most("4Gi", "16Gi") && !at_most("32", "8"));
    }
}
