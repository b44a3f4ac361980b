//! Rhai's built-ins that we replace so they keep within the spell's
//! limits: every one here does, in one native call, work or allocation
//! that grows with a number the spell chose (a length, a count of
//! matches, the size of a value shared many times) where no Rhai operation
//! is counted. Each gives the same answer as Rhai's own and asks the limits
//! as it goes, or before the allocation happens, since a failed allocation
//! would abort the process.

use std::fmt::Write as _;
use std::rc::Rc;

use rhai::{
    Dynamic, Engine as Rhai, EvalAltResult, FnPtr, ImmutableString, NativeCallContext, Position,
};

use crate::error::Error;
use crate::value::Limiter;

pub(super) type RhaiResult<T> = std::result::Result<T, Box<EvalAltResult>>;

/// Elements handled between two looks at the limits.
const CHECK_EVERY: usize = 1024;

/// Installs the replacements (the size guards when there is a memory cap).
pub(super) fn install(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    if s.memory_left().is_some() {
        guard_sizes(rhai, s);
    }
    guard_comparisons(rhai, s);
    guard_ordering(rhai, s);
    guard_text(rhai, s);
    guard_printing(rhai, s);
}

/// A coded error as Rhai sees it: `try/catch` gets the text `code: message`;
/// a stop or limit terminates the script instead, which no catch can hold.
pub(super) fn runtime_error(e: &Error, pos: Position) -> Box<EvalAltResult> {
    if e.code.is_fatal() {
        Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from(e.code.as_str()),
            pos,
        ))
    } else {
        Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(e.to_string()),
            pos,
        ))
    }
}

/// The stop flag, the deadline and the memory cap, as a Rhai error.
fn within_limits(s: &dyn Limiter) -> RhaiResult<()> {
    s.check().map_err(|e| runtime_error(&e, Position::NONE))?;
    if s.memory_left() == Some(0) {
        return Err(over_memory(s));
    }
    Ok(())
}

fn over_memory(s: &dyn Limiter) -> Box<EvalAltResult> {
    runtime_error(&s.over_memory(), Position::NONE)
}

/// Rhai's own size limits re-measure a whole container on every change,
/// which makes building a large array quadratic, so they stay off. The
/// memory cap (checked on every operation) bounds growth step by step;
/// these overrides stop the built-ins that make one huge value in a single
/// call before the allocation happens, since a failed allocation would
/// abort the process.
fn guard_sizes(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    /// `len` items of `each` bytes as a length, or `limit.memory` when
    /// that would pass what is left under the cap.
    fn length(s: &dyn Limiter, len: rhai::INT, each: usize) -> RhaiResult<usize> {
        let len = usize::try_from(len).unwrap_or(0);
        if s.memory_left()
            .is_some_and(|left| len.saturating_mul(each) > left)
        {
            return Err(over_memory(s));
        }
        Ok(len)
    }
    let s1 = s.clone();
    rhai.register_fn(
        "pad",
        move |text: &mut ImmutableString, len: rhai::INT, c: char| -> RhaiResult<()> {
            let len = length(&*s1, len, c.len_utf8())?;
            let have = text.chars().count();
            if len > have {
                repeat_into(text, c.encode_utf8(&mut [0; 4]), len - have);
            }
            Ok(())
        },
    );
    let s2 = s.clone();
    rhai.register_fn(
        "pad",
        move |text: &mut ImmutableString,
              len: rhai::INT,
              padding: ImmutableString|
              -> RhaiResult<()> {
            let widest = padding.chars().map(char::len_utf8).max().unwrap_or(1);
            let len = length(&*s2, len, widest)?;
            let have = text.chars().count();
            let each = padding.chars().count();
            if len > have && each > 0 {
                let need = len - have;
                repeat_into(text, &padding, need / each);
                text.make_mut().extend(padding.chars().take(need % each));
            }
            Ok(())
        },
    );
    let s3 = s.clone();
    rhai.register_fn(
        "pad",
        move |array: &mut rhai::Array, len: rhai::INT, mut item: Dynamic| -> RhaiResult<()> {
            // Each slot holds its own deep copy of an array or map item.
            let each = DYNAMIC + copy_bytes(&mut item);
            let len = length(&*s3, len, each)?;
            if len > array.len() {
                array.resize(len, item);
            }
            Ok(())
        },
    );
    let s4 = s.clone();
    rhai.register_fn(
        "pad",
        move |blob: &mut rhai::Blob, len: rhai::INT, value: rhai::INT| -> RhaiResult<()> {
            let len = length(&*s4, len, 1)?;
            if len > blob.len() {
                blob.resize(len, value as u8);
            }
            Ok(())
        },
    );
    let s5 = s.clone();
    rhai.register_fn("blob", move |len: rhai::INT| -> RhaiResult<rhai::Blob> {
        let len = length(&*s5, len, 1)?;
        Ok(vec![0u8; len])
    });
    let s6 = s.clone();
    rhai.register_fn(
        "blob",
        move |len: rhai::INT, value: rhai::INT| -> RhaiResult<rhai::Blob> {
            let len = length(&*s6, len, 1)?;
            Ok(vec![value as u8; len])
        },
    );
}

/// Rhai's array searches and comparisons call `==` for each element
/// natively, where no operation is counted: over a million elements one
/// call runs for seconds that no limit sees. These are Rhai's own, with
/// the same comparisons and results, asking the limits every
/// [`CHECK_EVERY`] elements.
fn guard_comparisons(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    /// `a == b` as Rhai's array functions decide it: an `==` that does
    /// not exist between two different types is `false`.
    fn equal(ctx: &NativeCallContext, a: &mut Dynamic, b: &mut Dynamic) -> RhaiResult<bool> {
        match ctx.call_native_fn_raw("==", true, &mut [a, b]) {
            Ok(v) => Ok(v.as_bool().unwrap_or(false)),
            Err(err) => match *err {
                EvalAltResult::ErrorFunctionNotFound(ref sig, ..)
                    if sig.starts_with("==") && a.type_id() != b.type_id() =>
                {
                    Ok(false)
                }
                _ => Err(err),
            },
        }
    }
    fn position(
        s: &dyn Limiter,
        ctx: &NativeCallContext,
        array: &mut rhai::Array,
        value: &Dynamic,
        start: usize,
    ) -> RhaiResult<Option<usize>> {
        for (i, item) in array.iter_mut().enumerate().skip(start) {
            if i % CHECK_EVERY == 0 {
                within_limits(s)?;
            }
            if equal(ctx, item, &mut value.clone())? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
    /// A position as `index_of` answers it: -1 for none.
    fn index(at: Option<usize>) -> rhai::INT {
        at.map_or(-1, |i| rhai::INT::try_from(i).unwrap_or(rhai::INT::MAX))
    }
    let s1 = s.clone();
    rhai.register_fn(
        "contains",
        move |ctx: NativeCallContext,
              array: &mut rhai::Array,
              value: Dynamic|
              -> RhaiResult<bool> { Ok(position(&*s1, &ctx, array, &value, 0)?.is_some()) },
    );
    let s2 = s.clone();
    rhai.register_fn(
        "index_of",
        move |ctx: NativeCallContext,
              array: &mut rhai::Array,
              value: Dynamic|
              -> RhaiResult<rhai::INT> {
            position(&*s2, &ctx, array, &value, 0).map(index)
        },
    );
    let s3 = s.clone();
    rhai.register_fn(
        "index_of",
        move |ctx: NativeCallContext,
              array: &mut rhai::Array,
              value: Dynamic,
              start: rhai::INT|
              -> RhaiResult<rhai::INT> {
            // As Rhai counts `start`: from the end when negative.
            let len = array.len();
            let start = if start < 0 {
                len.saturating_sub(usize::try_from(start.unsigned_abs()).unwrap_or(usize::MAX))
            } else {
                usize::try_from(start).unwrap_or(usize::MAX)
            };
            if start >= len {
                return Ok(-1);
            }
            position(&*s3, &ctx, array, &value, start).map(index)
        },
    );
    fn arrays_equal(
        s: &dyn Limiter,
        ctx: &NativeCallContext,
        a: &mut rhai::Array,
        mut b: rhai::Array,
    ) -> RhaiResult<bool> {
        if a.len() != b.len() {
            return Ok(false);
        }
        for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            if i % CHECK_EVERY == 0 {
                within_limits(s)?;
            }
            if !equal(ctx, x, y)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
    let s4 = s.clone();
    rhai.register_fn(
        "==",
        move |ctx: NativeCallContext, a: &mut rhai::Array, b: rhai::Array| -> RhaiResult<bool> {
            arrays_equal(&*s4, &ctx, a, b)
        },
    );
    let s5 = s.clone();
    rhai.register_fn(
        "!=",
        move |ctx: NativeCallContext, a: &mut rhai::Array, b: rhai::Array| -> RhaiResult<bool> {
            arrays_equal(&*s5, &ctx, a, b).map(|e| !e)
        },
    );
}

/// Appends `unit` `times` times in blocks of about 64 KiB: no second copy
/// of the result, and no char-by-char loop (10^8 characters pushed one by
/// one take seconds in a debug build).
fn repeat_into(text: &mut ImmutableString, unit: &str, times: usize) {
    if unit.is_empty() || times == 0 {
        return;
    }
    let text = text.make_mut();
    let per_block = (64 << 10) / unit.len() + 1;
    let block = unit.repeat(per_block.min(times));
    let mut left = times;
    while left >= per_block {
        text.push_str(&block);
        left -= per_block;
    }
    text.push_str(&block[..left * unit.len()]);
}

/// The bytes one `Dynamic` takes in an array.
const DYNAMIC: usize = std::mem::size_of::<Dynamic>();

/// Roughly the bytes a clone of `d` allocates: arrays, maps and blobs
/// are copied whole, strings are reference-counted.
fn copy_bytes(d: &mut Dynamic) -> usize {
    /// A map entry: its key, its value and its share of the tree.
    const ENTRY: usize = 3 * DYNAMIC;
    let mut total = 0usize;
    d.deep_scan(|v| {
        let own = if let Some(a) = v.read_lock::<rhai::Array>() {
            a.len() * DYNAMIC
        } else if let Some(m) = v.read_lock::<rhai::Map>() {
            m.len() * ENTRY
        } else {
            v.read_lock::<rhai::Blob>().map_or(0, |b| b.len())
        };
        total = total.saturating_add(own);
    });
    total
}

/// The error a stop or limit raised inside a callback: it ends the spell,
/// so a built-in that would treat a failed callback as "false" passes it on.
fn is_stop(e: &EvalAltResult) -> bool {
    matches!(e, EvalAltResult::ErrorTerminated(..))
}

/// Where a callback leaves its error before unwinding with [`Leave`].
type Left = std::cell::RefCell<Option<Box<EvalAltResult>>>;

/// Unwinds out of a std algorithm (a sort, a dedup) that a callback asked
/// to leave; [`leave_early`] catches it. `resume_unwind` runs no panic hook.
struct Leave;

/// Runs `body`, whose callbacks may store an error in `left` and unwind
/// with [`Leave`]: the stored error is then the result. Any other panic
/// is `on_panic`'s to answer.
fn leave_early<R>(
    left: &Left,
    body: impl FnOnce() -> R,
    on_panic: impl FnOnce() -> RhaiResult<R>,
) -> RhaiResult<R> {
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    if let Some(e) = left.borrow_mut().take() {
        return Err(e);
    }
    match done {
        Ok(r) => Ok(r),
        Err(p) if p.is::<Leave>() => unreachable!("left without an error"),
        Err(_) => on_panic(),
    }
}

/// Counts one callback and asks the limits every [`CHECK_EVERY`]; leaves
/// (see [`leave`]) when one is past.
fn every_few(s: &dyn Limiter, calls: &std::cell::Cell<usize>, left: &Left) {
    calls.set(calls.get() + 1);
    if calls.get().is_multiple_of(CHECK_EVERY) {
        if let Err(e) = within_limits(s) {
            leave(left, e);
        }
    }
}

/// Stores `e` and unwinds to [`leave_early`].
fn leave(left: &Left, e: Box<EvalAltResult>) -> ! {
    *left.borrow_mut() = Some(e);
    std::panic::resume_unwind(Box::new(Leave))
}

/// `sort`, `order` and `dedup` with a callback: Rhai's own treat a failed
/// callback as an answer and go on, so a stopped spell went on sorting
/// twelve million elements for seconds. These answer as Rhai's do and
/// leave at the first stop.
fn guard_ordering(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    fn sort_by(
        s: &dyn Limiter,
        ctx: &NativeCallContext,
        array: &mut rhai::Array,
        comparer: &FnPtr,
    ) -> RhaiResult<()> {
        if array.len() <= 1 {
            return Ok(());
        }
        let left = std::cell::RefCell::new(None);
        let calls = std::cell::Cell::new(0usize);
        let body = || {
            array.sort_by(|x, y| {
                every_few(s, &calls, &left);
                // As Rhai orders: a number's sign, `true` first, and by
                // type when the comparer gives neither.
                let answer = match comparer.call_raw(ctx, None, [x.clone(), y.clone()]) {
                    Err(e) if is_stop(&e) => leave(&left, e),
                    r => r.ok().and_then(|v| {
                        v.as_int()
                            .or_else(|_| v.as_bool().map(|b| if b { -1 } else { 1 }))
                            .ok()
                    }),
                };
                answer.map_or_else(|| x.type_id().cmp(&y.type_id()), |v| v.cmp(&0))
            });
        };
        leave_early(&left, body, || {
            Err(
                EvalAltResult::ErrorRuntime("error in comparer for sorting".into(), Position::NONE)
                    .into(),
            )
        })
    }
    /// Rhai's `dedup`: `same(previous, next)` decides, and a failed call
    /// is "not the same".
    fn dedup(
        s: &dyn Limiter,
        array: &mut rhai::Array,
        same: impl Fn(Dynamic, Dynamic) -> RhaiResult<bool>,
    ) -> RhaiResult<()> {
        let left = std::cell::RefCell::new(None);
        let calls = std::cell::Cell::new(0usize);
        let body = || {
            array.dedup_by(|next, previous| {
                every_few(s, &calls, &left);
                match same(previous.clone(), next.clone()) {
                    Ok(b) => b,
                    Err(e) if is_stop(&e) => leave(&left, e),
                    Err(_) => false,
                }
            });
        };
        leave_early(&left, body, || unreachable!("dedup does not panic"))
    }
    let s1 = s.clone();
    let sort = move |ctx: NativeCallContext,
                     array: &mut rhai::Array,
                     comparer: FnPtr|
          -> RhaiResult<()> { sort_by(&*s1, &ctx, array, &comparer) };
    rhai.register_fn("sort", sort.clone());
    rhai.register_fn("sort_by", sort);
    let s2 = s.clone();
    let order = move |ctx: NativeCallContext,
                      array: &mut rhai::Array,
                      comparer: FnPtr|
          -> RhaiResult<rhai::Array> {
        let mut array = array.clone();
        sort_by(&*s2, &ctx, &mut array, &comparer)?;
        Ok(array)
    };
    rhai.register_fn("order", order.clone());
    rhai.register_fn("order_by", order);
    let s3 = s.clone();
    rhai.register_fn(
        "dedup",
        move |ctx: NativeCallContext, array: &mut rhai::Array| -> RhaiResult<()> {
            dedup(&*s3, array, |mut a, mut b| {
                ctx.call_native_fn_raw("==", true, &mut [&mut a, &mut b])
                    .map(|v| v.as_bool().unwrap_or(false))
            })
        },
    );
    let s4 = s.clone();
    rhai.register_fn(
        "dedup",
        move |ctx: NativeCallContext, array: &mut rhai::Array, comparer: FnPtr| -> RhaiResult<()> {
            if array.is_empty() {
                return Ok(());
            }
            dedup(&*s4, array, |a, b| {
                comparer
                    .call_raw(&ctx, None, [a, b])
                    .map(|v| v.as_bool().unwrap_or(false))
            })
        },
    );
}

/// Pieces of a string (or bytes of a blob) as an array, the limits asked
/// every [`CHECK_EVERY`] pieces and before each growth of the array: one
/// piece costs far more than the byte it may come from, so splitting a
/// 20 MB string into characters would otherwise take a gigabyte at once.
fn collect<T: Into<Dynamic>>(
    s: &dyn Limiter,
    items: impl Iterator<Item = T>,
) -> RhaiResult<rhai::Array> {
    let mut out = rhai::Array::new();
    for (i, item) in items.enumerate() {
        if i % CHECK_EVERY == 0 {
            within_limits(s)?;
        }
        if out.len() == out.capacity() {
            let grown = out.capacity().max(4) * DYNAMIC;
            if s.memory_left().is_some_and(|left| left < grown) {
                return Err(over_memory(s));
            }
        }
        out.push(item.into());
    }
    Ok(out)
}

/// Rhai's `replace`, `split`, `split_rev` and `to_chars` on strings and
/// `to_array` on blobs, with the size of the result known (or counted as it
/// is made) before it is allocated: `s.replace("a", s)` on a 100 KB string
/// took Rhai 15 s and 19 GB.
fn guard_text(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    fn replace(
        s: &dyn Limiter,
        text: &mut ImmutableString,
        find: &str,
        with: &str,
    ) -> RhaiResult<()> {
        if text.is_empty() {
            return Ok(());
        }
        let found = text.matches(find).count();
        let size =
            (text.len() - found * find.len()).saturating_add(found.saturating_mul(with.len()));
        if s.memory_left().is_some_and(|left| left < size) {
            return Err(over_memory(s));
        }
        *text = text.replace(find, with).into();
        Ok(())
    }
    let s1 = s.clone();
    rhai.register_fn(
        "replace",
        move |text: &mut ImmutableString, find: ImmutableString, with: ImmutableString| {
            replace(&*s1, text, &find, &with)
        },
    );
    let s2 = s.clone();
    rhai.register_fn(
        "replace",
        move |text: &mut ImmutableString, find: ImmutableString, with: char| {
            replace(&*s2, text, &find, with.encode_utf8(&mut [0; 4]))
        },
    );
    let s3 = s.clone();
    rhai.register_fn(
        "replace",
        move |text: &mut ImmutableString, find: char, with: ImmutableString| {
            replace(&*s3, text, find.encode_utf8(&mut [0; 4]), &with)
        },
    );
    let s4 = s.clone();
    rhai.register_fn(
        "replace",
        move |text: &mut ImmutableString, find: char, with: char| {
            replace(
                &*s4,
                text,
                find.encode_utf8(&mut [0; 4]),
                with.encode_utf8(&mut [0; 4]),
            )
        },
    );

    /// Rhai's `split(text, delimiter, segments?)` (and `split_rev`): the
    /// string itself, uncopied, when the delimiter is not in it, the string
    /// is empty or one segment is asked for.
    fn split(
        s: &dyn Limiter,
        text: &ImmutableString,
        delimiter: &str,
        segments: Option<rhai::INT>,
        reverse: bool,
    ) -> RhaiResult<rhai::Array> {
        let absent = !delimiter.is_empty() && !text.contains(delimiter);
        if text.is_empty() || absent || segments.is_some_and(|n| n <= 1) {
            return Ok(vec![text.clone().into()]);
        }
        let piece = <Dynamic as From<&str>>::from;
        match (
            segments.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            reverse,
        ) {
            (None, false) => collect(s, text.split(delimiter).map(piece)),
            (None, true) => collect(s, text.rsplit(delimiter).map(piece)),
            (Some(n), false) => collect(s, text.splitn(n, delimiter).map(piece)),
            (Some(n), true) => collect(s, text.rsplitn(n, delimiter).map(piece)),
        }
    }
    for (name, reverse) in [("split", false), ("split_rev", true)] {
        let s1 = s.clone();
        rhai.register_fn(
            name,
            move |text: &mut ImmutableString, d: ImmutableString| {
                split(&*s1, text, &d, None, reverse)
            },
        );
        let s2 = s.clone();
        rhai.register_fn(name, move |text: &mut ImmutableString, d: char| {
            split(&*s2, text, d.encode_utf8(&mut [0; 4]), None, reverse)
        });
        let s3 = s.clone();
        rhai.register_fn(
            name,
            move |text: &mut ImmutableString, d: ImmutableString, n: rhai::INT| {
                split(&*s3, text, &d, Some(n), reverse)
            },
        );
        let s4 = s.clone();
        rhai.register_fn(
            name,
            move |text: &mut ImmutableString, d: char, n: rhai::INT| {
                split(&*s4, text, d.encode_utf8(&mut [0; 4]), Some(n), reverse)
            },
        );
    }
    let s5 = s.clone();
    rhai.register_fn(
        "split",
        move |text: &mut ImmutableString| -> RhaiResult<rhai::Array> {
            if text.is_empty() {
                return Ok(vec![text.clone().into()]);
            }
            collect(
                &*s5,
                text.split_whitespace().map(<Dynamic as From<&str>>::from),
            )
        },
    );
    let s6 = s.clone();
    rhai.register_fn("to_chars", move |text: &mut ImmutableString| {
        collect(&*s6, text.chars())
    });
    let s7 = s.clone();
    rhai.register_fn("to_array", move |blob: &mut rhai::Blob| {
        collect(&*s7, blob.iter().map(|&b| rhai::INT::from(b)))
    });
}

/// Text the host builds for the spell, its growth checked against the
/// memory cap before each allocation and the limits asked every
/// [`CHECK_EVERY`] pieces: an array of a million references to one
/// kilobyte string prints as a gigabyte.
struct Text<'a> {
    s: &'a dyn Limiter,
    out: String,
    pieces: usize,
    over: bool,
}

impl<'a> Text<'a> {
    fn new(s: &'a dyn Limiter) -> Self {
        Text {
            s,
            out: String::new(),
            pieces: 0,
            over: false,
        }
    }

    fn push(&mut self, piece: &str) -> RhaiResult<()> {
        self.pieces += 1;
        if self.pieces.is_multiple_of(CHECK_EVERY) {
            within_limits(self.s)?;
        }
        self.write_str(piece).map_err(|_| over_memory(self.s))
    }

    /// The text made, for a print function. Rhai's callers of these
    /// (interpolation, `+`, its own `debug`) take a failed one for "print
    /// it plainly instead" and would make the whole text after all, so a
    /// stop gives an empty text here: the stop has been tripped, the
    /// spell's next step ends it, and no bridge takes a call from it.
    fn made(self, made: RhaiResult<()>) -> ImmutableString {
        match made {
            Ok(()) => self.out.into(),
            Err(_) => ImmutableString::new(),
        }
    }

    /// Formats `args` into the text, a piece at a time.
    fn write(&mut self, args: std::fmt::Arguments) -> RhaiResult<()> {
        let written = self.write_fmt(args);
        if self.over || written.is_err() {
            return Err(over_memory(self.s));
        }
        Ok(())
    }
}

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, piece: &str) -> std::fmt::Result {
        let need = self.out.len() + piece.len();
        if need > self.out.capacity() {
            let grown = need.max(self.out.capacity() * 2);
            if self.s.memory_left().is_some_and(|left| left < grown) {
                self.over = true;
                return Err(std::fmt::Error);
            }
            self.out.reserve(grown - self.out.len());
        }
        self.out.push_str(piece);
        Ok(())
    }
}

/// Rhai's text of an array (`print`, `to_string`, `to_debug`,
/// interpolation): each element as its `to_debug` gives it.
fn format_array(t: &mut Text, ctx: &NativeCallContext, a: &mut rhai::Array) -> RhaiResult<()> {
    t.push("[")?;
    let last = a.len().saturating_sub(1);
    for (i, x) in a.iter_mut().enumerate() {
        format_element(t, ctx, x)?;
        if i < last {
            t.push(", ")?;
        }
    }
    t.push("]")
}

/// Rhai's text of a map: `#{"key": value, ...}`.
fn format_map(t: &mut Text, ctx: &NativeCallContext, m: &mut rhai::Map) -> RhaiResult<()> {
    t.push("#{")?;
    let last = m.len().saturating_sub(1);
    for (i, (k, v)) in m.iter_mut().enumerate() {
        t.write(format_args!("{k:?}: "))?;
        format_element(t, ctx, v)?;
        if i < last {
            t.push(", ")?;
        }
    }
    t.push("}")
}

/// Rhai's text of a blob: its bytes in hex, a space after each eight.
fn format_blob(t: &mut Text, b: &rhai::Blob) -> RhaiResult<()> {
    t.push("[")?;
    for (i, eight) in b.chunks(8).enumerate() {
        if i > 0 {
            t.push(" ")?;
        }
        let mut hex = [0u8; 16];
        for (j, byte) in eight.iter().enumerate() {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            hex[2 * j] = DIGITS[usize::from(byte >> 4)];
            hex[2 * j + 1] = DIGITS[usize::from(byte & 15)];
        }
        t.push(std::str::from_utf8(&hex[..2 * eight.len()]).unwrap_or_default())?;
    }
    t.push("]")
}

/// One element as Rhai's `print_with_func(to_debug)` gives it.
fn format_element(t: &mut Text, ctx: &NativeCallContext, x: &mut Dynamic) -> RhaiResult<()> {
    if let Some(mut a) = x.write_lock::<rhai::Array>() {
        return format_array(t, ctx, &mut a);
    }
    if let Some(mut m) = x.write_lock::<rhai::Map>() {
        return format_map(t, ctx, &mut m);
    }
    if let Some(b) = x.read_lock::<rhai::Blob>() {
        return format_blob(t, &b);
    }
    match ctx.call_native_fn_raw("to_debug", true, &mut [x]) {
        Ok(v) if v.is_string() => t.push(&v.into_immutable_string().unwrap_or_default()),
        Ok(v) => t.push(ctx.engine().map_type_name(v.type_name())),
        Err(e) if is_stop(&e) => Err(e),
        Err(_) => {
            let text = format!("{x:?}");
            t.push(ctx.engine().map_type_name(&text))
        }
    }
}

/// The text `print(x)` shows for an array, a map or a blob, as Rhai makes it;
/// `None` for any other value.
pub(super) fn container_text(
    s: &dyn Limiter,
    ctx: &NativeCallContext,
    d: &mut Dynamic,
) -> RhaiResult<Option<String>> {
    if !d.is_array() && !d.is_map() && !d.is_blob() {
        return Ok(None);
    }
    let mut t = Text::new(s);
    format_element(&mut t, ctx, d)?;
    Ok(Some(t.out))
}

/// Rhai's `{map}.to_json()`, made as [`Text`].
fn json(t: &mut Text, d: &Dynamic) -> RhaiResult<()> {
    if d.is_shared() {
        if let Some(inner) = d.read_lock::<Dynamic>() {
            return json(t, &inner);
        }
    }
    if d.is_unit() {
        return t.push("null");
    }
    if let Some(f) = d.read_lock::<FnPtr>() {
        if !f.is_curried() {
            return t.write(format_args!("{:?}", f.fn_name()));
        }
        t.write(format_args!("[{:?}", f.fn_name()))?;
        for x in f.iter_curry() {
            t.push(",")?;
            json(t, x)?;
        }
        return t.push("]");
    }
    if let Some(m) = d.read_lock::<rhai::Map>() {
        return json_map(t, &m);
    }
    if let Some(a) = d.read_lock::<rhai::Array>() {
        return json_list(t, a.iter(), json);
    }
    if let Some(b) = d.read_lock::<rhai::Blob>() {
        return json_list(t, b.iter(), |t, x| t.write(format_args!("{x}")));
    }
    t.write(format_args!("{d:?}"))
}

fn json_map(t: &mut Text, m: &rhai::Map) -> RhaiResult<()> {
    t.push("{")?;
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            t.push(",")?;
        }
        t.write(format_args!("{k:?}:"))?;
        json(t, v)?;
    }
    t.push("}")
}

fn json_list<T>(
    t: &mut Text,
    items: impl Iterator<Item = T>,
    each: impl Fn(&mut Text, T) -> RhaiResult<()>,
) -> RhaiResult<()> {
    t.push("[")?;
    for (i, x) in items.enumerate() {
        if i > 0 {
            t.push(",")?;
        }
        each(t, x)?;
    }
    t.push("]")
}

/// Rhai's text of arrays, maps, blobs and strings (`to_string`,
/// `to_debug`, `debug`, interpolation, a string `+` one of them) and a
/// map's `to_json`, made as [`Text`].
fn guard_printing(rhai: &mut Rhai, s: &Rc<dyn Limiter>) {
    /// The text `make` writes, or an empty one on a stop (see [`Text::made`]).
    fn text_of(s: &dyn Limiter, make: impl FnOnce(&mut Text) -> RhaiResult<()>) -> ImmutableString {
        let mut t = Text::new(s);
        let made = make(&mut t);
        t.made(made)
    }
    for name in ["to_string", "to_debug", "debug"] {
        let s1 = s.clone();
        rhai.register_fn(name, move |ctx: NativeCallContext, a: &mut rhai::Array| {
            text_of(&*s1, |t| format_array(t, &ctx, a))
        });
        let s2 = s.clone();
        rhai.register_fn(name, move |ctx: NativeCallContext, m: &mut rhai::Map| {
            text_of(&*s2, |t| format_map(t, &ctx, m))
        });
        let s3 = s.clone();
        rhai.register_fn(name, move |b: &mut rhai::Blob| {
            text_of(&*s3, |t| format_blob(t, b))
        });
    }
    for name in ["to_debug", "debug"] {
        let s4 = s.clone();
        rhai.register_fn(name, move |text: &mut ImmutableString| {
            text_of(&*s4, |t| t.write(format_args!("{:?}", text.as_str())))
        });
    }
    // A string joined with an array or a map: Rhai's own `+` prints the
    // value through a call whose failure it answers by printing it
    // natively, unchecked; these make the text themselves.
    fn joined(
        s: &dyn Limiter,
        ctx: &NativeCallContext,
        before: &str,
        value: &mut Dynamic,
        after: &str,
    ) -> RhaiResult<ImmutableString> {
        let mut t = Text::new(s);
        t.push(before)?;
        format_element(&mut t, ctx, value)?;
        t.push(after)?;
        Ok(t.out.into())
    }
    macro_rules! join_with {
        ($($t:ty),*) => {$({
            let s1 = s.clone();
            rhai.register_fn("+", move |ctx: NativeCallContext, text: &mut ImmutableString, v: $t| {
                joined(&*s1, &ctx, text, &mut Dynamic::from(v), "")
            });
            let s2 = s.clone();
            rhai.register_fn("+", move |ctx: NativeCallContext, v: $t, text: ImmutableString| {
                joined(&*s2, &ctx, "", &mut Dynamic::from(v), &text)
            });
            for name in ["+=", "append"] {
                let s3 = s.clone();
                rhai.register_fn(name, move |ctx: NativeCallContext, text: &mut ImmutableString, v: $t| {
                    *text = joined(&*s3, &ctx, text, &mut Dynamic::from(v), "")?;
                    Ok::<(), Box<EvalAltResult>>(())
                });
            }
        })*};
    }
    join_with!(rhai::Array, rhai::Map);
    // What a `${}` segment becomes (see `RhaiEngine::interpolations`):
    // its text as Rhai's `to_string` gives it, always a string.
    let s6 = s.clone();
    rhai.register_fn(
        "llmspell_text",
        move |ctx: NativeCallContext, v: Dynamic| -> RhaiResult<ImmutableString> {
            let mut v = v.flatten();
            if v.is_string() {
                return Ok(v.into_immutable_string().unwrap_or_default());
            }
            if v.is_array() || v.is_map() || v.is_blob() {
                return joined(&*s6, &ctx, "", &mut v, "");
            }
            match ctx.call_native_fn_raw("to_string", true, &mut [&mut v]) {
                Ok(text) if text.is_string() => {
                    Ok(text.into_immutable_string().unwrap_or_default())
                }
                Ok(other) => Ok(ctx.engine().map_type_name(other.type_name()).into()),
                Err(e) if is_stop(&e) => Err(e),
                Err(_) => Ok(ctx.engine().map_type_name(&v.to_string()).into()),
            }
        },
    );
    let s5 = s.clone();
    rhai.register_fn("to_json", move |m: &mut rhai::Map| -> RhaiResult<String> {
        let mut t = Text::new(&*s5);
        json_map(&mut t, m)?;
        Ok(t.out)
    });
}
