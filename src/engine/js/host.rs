//! The host's half of the prelude's globals (`prelude.js` writes the rest
//! over these): timers on the spell's clock, text in every WHATWG
//! encoding (encoding_rs), WHATWG URLs (the `url` crate), and random numbers from the run's seed (ChaCha20). The
//! object is handed to the prelude only, never made a global.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rquickjs::class::{JsClass, Trace, Tracer, Writable};
use rquickjs::function::Opt;
use rquickjs::{
    Class, Ctx, Function, JsLifetime, Object, Persistent, TypedArray, Value as JsValue,
};

use super::event_loop::{Shared, TIMER_BYTES};
use super::throw;
use crate::session::Session;

/// The object the prelude is given as `host`.
pub(super) fn object<'js>(
    ctx: &Ctx<'js>,
    shared: &Rc<Shared>,
    session: &Rc<Session>,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    host.set("timers", timers(ctx, shared, session)?)?;
    host.set("text", text(ctx)?)?;
    host.set("url", url(ctx)?)?;
    host.set("random", random(ctx, session)?)?;
    host.set("load", Function::new(ctx.clone(), load)?)?;
    Ok(host)
}

/// The globals the prelude makes only when a spell first reaches for them,
/// each a module of its own: its name and source.
const WEB: [(&str, &str); 5] = [
    ("events", include_str!("web/events.js")),
    ("clone", include_str!("web/clone.js")),
    ("text", include_str!("web/text.js")),
    ("url", include_str!("web/url.js")),
    ("crypto", include_str!("web/crypto.js")),
];

/// Group `group` of [`WEB`]: its module's default export, which makes it.
fn load<'js>(ctx: Ctx<'js>, group: String) -> rquickjs::Result<Function<'js>> {
    static BYTECODE: [std::sync::OnceLock<Vec<u8>>; WEB.len()] =
        [const { std::sync::OnceLock::new() }; WEB.len()];
    let Some(i) = WEB.iter().position(|(name, _)| *name == group) else {
        return Err(rquickjs::Exception::throw_internal(&ctx, "no such group"));
    };
    let name = format!("llmspell:{group}");
    super::run_own(&ctx, &name, WEB[i].1, &BYTECODE[i])?.get("default")
}

fn timers<'js>(
    ctx: &Ctx<'js>,
    shared: &Rc<Shared>,
    session: &Rc<Session>,
) -> rquickjs::Result<Object<'js>> {
    let t = Object::new(ctx.clone())?;
    let (sh, s) = (shared.clone(), session.clone());
    // `ms` is a number of milliseconds from 1 to 2^31 - 1 (the prelude
    // makes it one, as node does).
    t.set(
        "add",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, fire: Function<'js>, ms: f64, repeat: bool| {
                let hold = s.hold(TIMER_BYTES).map_err(|e| throw(&ctx, &e))?;
                let delay = Duration::from_secs_f64(ms.clamp(1.0, 2_147_483_647.0) / 1000.0);
                let key = (s.deadline().run_time() + delay, sh.next_seq());
                let fire = Persistent::save(&ctx, fire);
                Ok::<_, rquickjs::Error>(sh.timers.borrow_mut().add(fire, delay, repeat, key, hold))
            },
        )?,
    )?;
    let sh = shared.clone();
    t.set(
        "clear",
        Function::new(ctx.clone(), move |id: f64| {
            if let Some(id) = timer_id(id) {
                sh.timers.borrow_mut().clear(id);
            }
        })?,
    )?;
    let sh = shared.clone();
    t.set(
        "refer",
        Function::new(ctx.clone(), move |id: f64, on: bool| {
            if let Some(id) = timer_id(id) {
                sh.timers.borrow_mut().set_ref(id, on);
            }
        })?,
    )?;
    let sh = shared.clone();
    t.set(
        "hasRef",
        Function::new(ctx.clone(), move |id: f64| {
            timer_id(id).is_some_and(|id| sh.timers.borrow().has_ref(id))
        })?,
    )?;
    let (sh, s) = (shared.clone(), session.clone());
    t.set(
        "refresh",
        Function::new(ctx.clone(), move |id: f64| {
            if let Some(id) = timer_id(id) {
                let seq = sh.next_seq();
                sh.timers
                    .borrow_mut()
                    .refresh(id, s.deadline().run_time(), seq);
            }
        })?,
    )?;
    Ok(t)
}

fn timer_id(id: f64) -> Option<u32> {
    (id.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&id)).then_some(id as u32)
}

fn text<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let t = Object::new(ctx.clone())?;
    // The prelude makes the text well formed first (a lone surrogate
    // becomes U+FFFD), as TextEncoder does.
    t.set(
        "encode",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, s: String| {
            TypedArray::<u8>::new(ctx, s.into_bytes())
        })?,
    )?;
    t.set(
        "encodeInto",
        Function::new(
            ctx.clone(),
            |s: String, dest: TypedArray<'js, u8>| -> rquickjs::Result<Vec<usize>> {
                let Some(raw) = dest.as_raw() else {
                    return Ok(vec![0, 0]);
                };
                // SAFETY: the view's own bytes; no script runs while they
                // are written.
                let out = unsafe { &mut *raw.as_ptr() };
                let (mut read, mut written) = (0, 0);
                for c in s.chars() {
                    let n = c.len_utf8();
                    if written + n > out.len() {
                        break;
                    }
                    c.encode_utf8(&mut out[written..written + n]);
                    written += n;
                    read += c.len_utf16();
                }
                Ok(vec![read, written])
            },
        )?,
    )?;
    t.set(
        "decoder",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, label: String, ignore_bom: bool| -> rquickjs::Result<JsValue<'js>> {
                // Null (the prelude throws a RangeError): no such encoding.
                let Some(encoding) = Encoding::for_label_no_replacement(label.trim().as_bytes())
                else {
                    return Ok(JsValue::new_null(ctx));
                };
                let state = Class::instance(ctx.clone(), Decoding::new(encoding, ignore_bom))?;
                let out = rquickjs::Array::new(ctx)?;
                out.set(0, state)?;
                out.set(1, encoding.name().to_ascii_lowercase())?;
                Ok(out.into_value())
            },
        )?,
    )?;
    t.set(
        "decode",
        Function::new(
            ctx.clone(),
            |state: Class<'js, Decoding>, bytes: TypedArray<'js, u8>, fatal: bool, stream: bool| {
                // SAFETY: read at once, before any script runs.
                let input: &[u8] = match bytes.as_raw() {
                    Some(raw) => unsafe { raw.as_ref() },
                    None => &[],
                };
                state.borrow_mut().decode(input, fatal, !stream)
            },
        )?,
    )?;
    Ok(t)
}

/// A TextDecoder's state between the chunks of a stream: its encoding's
/// decoder (encoding_rs), made again when a stream ends.
pub(super) struct Decoding {
    encoding: &'static Encoding,
    ignore_bom: bool,
    decoder: Decoder,
}

impl Decoding {
    fn new(encoding: &'static Encoding, ignore_bom: bool) -> Self {
        // As TextDecoder does: the encoding's own BOM is dropped unless
        // ignoreBOM, and never sniffed into another encoding.
        let decoder = match ignore_bom {
            true => encoding.new_decoder_without_bom_handling(),
            false => encoding.new_decoder_with_bom_removal(),
        };
        Decoding {
            encoding,
            ignore_bom,
            decoder,
        }
    }

    /// `input`'s text, with each bad sequence U+FFFD; `None` when `fatal`
    /// and there is one (the stream then starts again).
    fn decode(&mut self, input: &[u8], fatal: bool, last: bool) -> Option<String> {
        let d = &mut self.decoder;
        let room = match fatal {
            true => d.max_utf8_buffer_length_without_replacement(input.len()),
            false => d.max_utf8_buffer_length(input.len()),
        };
        let mut text = String::with_capacity(room.unwrap_or(input.len() * 3 + 16));
        let mut at = 0;
        let ok = loop {
            let (full, read) = if fatal {
                match d.decode_to_string_without_replacement(&input[at..], &mut text, last) {
                    (DecoderResult::Malformed(..), _) => break false,
                    (r, read) => (r == DecoderResult::OutputFull, read),
                }
            } else {
                let (r, read, _) = d.decode_to_string(&input[at..], &mut text, last);
                (r == CoderResult::OutputFull, read)
            };
            at += read;
            if !full {
                break true;
            }
            text.reserve(text.capacity().max(16));
        };
        if last || !ok {
            *self = Decoding::new(self.encoding, self.ignore_bom);
        }
        ok.then_some(text)
    }
}

impl<'js> Trace<'js> for Decoding {
    fn trace<'a>(&self, _: Tracer<'a, 'js>) {}
}

// SAFETY: holds no JavaScript value.
unsafe impl<'js> JsLifetime<'js> for Decoding {
    type Changed<'to> = Decoding;
}

impl<'js> JsClass<'js> for Decoding {
    const NAME: &'static str = "TextDecoding";
    type Mutable = Writable;

    fn prototype(ctx: &Ctx<'js>) -> rquickjs::Result<Option<Object<'js>>> {
        Ok(Some(Object::new(ctx.clone())?))
    }

    fn constructor(_: &Ctx<'js>) -> rquickjs::Result<Option<rquickjs::function::Constructor<'js>>> {
        Ok(None)
    }
}

fn url<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    use url::quirks;
    let u = Object::new(ctx.clone())?;
    u.set(
        "parse",
        Function::new(ctx.clone(), |input: String, base: Opt<String>| {
            let url = match base.0 {
                Some(base) => url::Url::parse(&base).and_then(|b| b.join(&input)),
                None => url::Url::parse(&input),
            };
            url.ok().map(|u| parts(&u))
        })?,
    )?;
    // Sets part `part` (the order of [`parts`]) of `href`; `None` where
    // the href set is not a URL. Other setters ignore what they cannot
    // use, as the standard says.
    u.set(
        "set",
        Function::new(ctx.clone(), |href: String, part: u32, value: String| {
            let mut url = url::Url::parse(&href).ok()?;
            match part {
                0 => quirks::set_href(&mut url, &value).ok()?,
                2 => drop(quirks::set_protocol(&mut url, &value)),
                3 => drop(quirks::set_username(&mut url, &value)),
                4 => drop(quirks::set_password(&mut url, &value)),
                5 => drop(quirks::set_host(&mut url, &value)),
                6 => drop(quirks::set_hostname(&mut url, &value)),
                7 => drop(quirks::set_port(&mut url, &value)),
                8 => quirks::set_pathname(&mut url, &value),
                9 => quirks::set_search(&mut url, &value),
                10 => quirks::set_hash(&mut url, &value),
                _ => {}
            }
            Some(parts(&url))
        })?,
    )?;
    u.set(
        "query",
        Function::new(ctx.clone(), |query: String| {
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| vec![k.into_owned(), v.into_owned()])
                .collect::<Vec<_>>()
        })?,
    )?;
    u.set(
        "form",
        Function::new(ctx.clone(), |pairs: Vec<Vec<String>>| {
            let mut out = url::form_urlencoded::Serializer::new(String::new());
            for pair in &pairs {
                if let [k, v] = &pair[..] {
                    out.append_pair(k, v);
                }
            }
            out.finish()
        })?,
    )?;
    Ok(u)
}

/// A URL's parts as the prelude's URL reads them, in this order.
fn parts(url: &url::Url) -> Vec<String> {
    use url::quirks;
    [
        quirks::href(url).to_owned(),
        quirks::origin(url),
        quirks::protocol(url).to_owned(),
        quirks::username(url).to_owned(),
        quirks::password(url).to_owned(),
        quirks::host(url).to_owned(),
        quirks::hostname(url).to_owned(),
        quirks::port(url).to_owned(),
        quirks::pathname(url).to_owned(),
        quirks::search(url).to_owned(),
        quirks::hash(url).to_owned(),
    ]
    .into()
}

/// The run's random stream, made from its seed when the spell first draws
/// (see [`Session::random_seed`]): a run that draws nothing asks for no seed.
struct Stream {
    session: Rc<Session>,
    rng: RefCell<Option<ChaCha20Rng>>,
}

impl Stream {
    fn with<R>(&self, ctx: &Ctx<'_>, f: impl FnOnce(&mut ChaCha20Rng) -> R) -> rquickjs::Result<R> {
        let mut rng = self.rng.borrow_mut();
        if rng.is_none() {
            let seed = self.session.random_seed().map_err(|e| throw(ctx, &e))?;
            *rng = Some(ChaCha20Rng::from_seed(seed));
        }
        Ok(f(rng.as_mut().expect("just made")))
    }
}

fn random<'js>(ctx: &Ctx<'js>, session: &Rc<Session>) -> rquickjs::Result<Object<'js>> {
    let stream = Rc::new(Stream {
        session: session.clone(),
        rng: RefCell::new(None),
    });
    let r = Object::new(ctx.clone())?;
    let bytes = stream.clone();
    r.set(
        "fill",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, into: TypedArray<'js, u8>| {
                if let Some(raw) = into.as_raw() {
                    // SAFETY: the view's own bytes; no script runs meanwhile.
                    bytes.with(&ctx, |rng| rng.fill_bytes(unsafe { &mut *raw.as_ptr() }))?;
                }
                Ok::<_, rquickjs::Error>(())
            },
        )?,
    )?;
    r.set(
        "doubles",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, into: TypedArray<'js, f64>| {
                if let Some(raw) = into.as_raw() {
                    stream.with(&ctx, |rng| {
                        // SAFETY: the view's own bytes; no script runs meanwhile.
                        let out = unsafe { &mut *raw.as_ptr() };
                        for chunk in out.chunks_exact_mut(8) {
                            // 53 random bits, as a double in [0, 1).
                            let x = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                            chunk.copy_from_slice(&x.to_ne_bytes());
                        }
                    })?;
                }
                Ok::<_, rquickjs::Error>(())
            },
        )?,
    )?;
    Ok(r)
}
