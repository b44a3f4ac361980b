//! Criterion measurements in nanoseconds as `f64`: the CPU time the whole
//! process spends, and the wall clock. Either can hold a difference (the
//! time one run takes more than another), which may be negative.

/// The CPU time the whole process spends (every thread: the spell's, the
/// I/O runtime's, the scripted server's), in nanoseconds. On a shared
/// machine it moves far less than the wall clock, and what a spell adds
/// to a model call is CPU on the call's critical path.
pub struct ProcessCpu;

/// The wall clock, in nanoseconds as `f64`, for differences measured with
/// `iter_custom`.
pub struct Wall;

pub fn wall_ns() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as f64
}

pub fn process_cpu_ns() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

/// A measurement in nanoseconds, read from `$now`, shown as `$unit`.
macro_rules! nanoseconds {
    ($name:ident, $now:ident, $unit:literal) => {
        impl criterion::measurement::Measurement for $name {
            type Intermediate = f64;
            type Value = f64;
            fn start(&self) -> f64 {
                $now()
            }
            fn end(&self, start: f64) -> f64 {
                $now() - start
            }
            fn add(&self, a: &f64, b: &f64) -> f64 {
                a + b
            }
            fn zero(&self) -> f64 {
                0.0
            }
            fn to_f64(&self, v: &f64) -> f64 {
                *v
            }
            fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
                self
            }
        }

        impl criterion::measurement::ValueFormatter for $name {
            fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
                values.iter_mut().for_each(|v| *v /= 1e6);
                $unit
            }
            fn scale_throughputs(
                &self,
                _: f64,
                _: &criterion::Throughput,
                values: &mut [f64],
            ) -> &'static str {
                values.iter_mut().for_each(|v| *v /= 1e6);
                $unit
            }
            fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
                "ns"
            }
        }
    };
}

nanoseconds!(ProcessCpu, process_cpu_ns, "ms CPU");
nanoseconds!(Wall, wall_ns, "ms");
