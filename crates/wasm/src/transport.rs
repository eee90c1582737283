//! Transports for wasm: the global `fetch` (the default), or a caller-supplied fetch-like
//! function `(url, {method, headers, body, signal}) => Promise<{status, headers.get, text()}>`.
//! Both go through one path (`via_function`), called with plain JS values: no `Request` object
//! is built, so relative URLs (a Workflow's `/platform/…` calls) reach the host's `fetch` as
//! they are, and no HTTP crate is compiled into the module (it stays small).

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use dps_cost_client::clock::Clock;
use std::cell::RefCell;
use std::rc::Rc;

use dps_cost_client::http::{BodySource, HttpClient, HttpRequest, HttpResponse, Transfer};
use dps_cost_core::error::{Error, Result};

pub enum Transport {
    Fetch,
    Function(Function),
}

impl Transport {
    /// The caller's `fetch` option if it is a function; `INVALID_INPUT` if it is something else.
    pub fn from_options(options: &JsValue) -> Result<Self> {
        let f = Reflect::get(options, &JsValue::from_str("fetch")).unwrap_or(JsValue::UNDEFINED);
        if f.is_undefined() || f.is_null() {
            return Ok(Transport::Fetch);
        }
        f.dyn_into::<Function>()
            .map(Transport::Function)
            .map_err(|_| {
                Error::invalid(
                    "fetch",
                    "must be a function (url, init) => Promise<Response>",
                )
            })
    }
}

fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| "fetch failed".to_string())
}

fn network(request: &HttpRequest, v: &JsValue) -> Error {
    Error::Network {
        endpoint: request.endpoint(),
        message: js_message(v),
    }
}

/// An `AbortController` that fires after `ms`, the timer to clear once the request is done, and
/// one promise that rejects when the signal aborts (raced against each step of the request).
/// The JS callbacks are owned `Closure`s, freed (timer cleared, listener removed) on drop: a
/// never-called `once_into_js` closure would leak with what it holds, once per request.
struct Deadline {
    controller: Option<web_sys::AbortController>,
    timer: JsValue,
    ms: u64,
    on_timeout: Option<Closure<dyn FnMut()>>,
    aborted: Option<(Promise, Closure<dyn FnMut()>)>,
}

impl Deadline {
    fn start(ms: Option<u64>) -> Deadline {
        let mut d = Deadline {
            controller: None,
            timer: JsValue::UNDEFINED,
            ms: ms.unwrap_or(0),
            on_timeout: None,
            aborted: None,
        };
        let Some(ms) = ms else {
            return d;
        };
        d.controller = web_sys::AbortController::new().ok();
        if let (Some(c), Some(set_timeout)) = (&d.controller, global_function("setTimeout")) {
            let c = c.clone();
            let abort = Closure::<dyn FnMut()>::new(move || c.abort());
            d.timer = set_timeout
                .call2(
                    &JsValue::UNDEFINED,
                    abort.as_ref(),
                    &JsValue::from_f64(ms as f64),
                )
                .unwrap_or(JsValue::UNDEFINED);
            d.on_timeout = Some(abort);
        }
        if let Some(signal) = d.signal() {
            let mut listener = None;
            let promise = Promise::new(&mut |_resolve, reject| {
                let on_abort = Closure::<dyn FnMut()>::new(move || {
                    let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str("aborted"));
                });
                let _ = signal
                    .add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
                listener = Some(on_abort);
            });
            d.aborted = listener.map(|l| (promise, l));
        }
        d
    }

    fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.controller
            .as_ref()
            .map(web_sys::AbortController::signal)
    }

    fn expired(&self) -> bool {
        self.signal().is_some_and(|s| s.aborted())
    }

    /// The error for a failure: `Timeout` if the deadline fired, else `Network`.
    fn error(&self, request: &HttpRequest, message: String) -> Error {
        if self.expired() {
            Error::Timeout {
                endpoint: request.endpoint(),
                ms: self.ms,
            }
        } else {
            Error::Network {
                endpoint: request.endpoint(),
                message,
            }
        }
    }

    /// Resolves `promise`, or fails once the deadline fires even if the promise ignores the
    /// abort signal (a caller's fetch function may).
    async fn race(&self, promise: Promise) -> std::result::Result<JsValue, JsValue> {
        match &self.aborted {
            None => JsFuture::from(promise).await,
            Some((aborted, _)) => {
                JsFuture::from(Promise::race(&js_sys::Array::of2(&promise, aborted))).await
            }
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if !self.timer.is_undefined() {
            if let Some(clear) = global_function("clearTimeout") {
                let _ = clear.call1(&JsValue::UNDEFINED, &self.timer);
            }
        }
        if let (Some(signal), Some((_, listener))) = (self.signal(), &self.aborted) {
            let _ = signal
                .remove_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        }
    }
}

fn global_function(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

async fn via_function(f: &Function, request: &HttpRequest) -> Result<HttpResponse> {
    let body = request.body.as_deref().map(JsValue::from_str);
    send_js(f, request, body, false).await
}

/// Sends `request` with `body` (a string, a `Blob` or a `ReadableStream`: `stream` sets
/// `duplex: "half"`, which fetch needs for a stream).
async fn send_js(
    f: &Function,
    request: &HttpRequest,
    body: Option<JsValue>,
    stream: bool,
) -> Result<HttpResponse> {
    let deadline = Deadline::start(request.timeout_ms);
    let headers = Object::new();
    for (k, v) in &request.headers {
        Reflect::set(&headers, &JsValue::from_str(k), &JsValue::from_str(v))
            .map_err(|e| network(request, &e))?;
    }
    let init = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&init, &JsValue::from_str(k), v).map(|_| ());
    set("method", &JsValue::from_str(request.method.as_str())).map_err(|e| network(request, &e))?;
    set("headers", &headers).map_err(|e| network(request, &e))?;
    if let Some(body) = &body {
        set("body", body).map_err(|e| network(request, &e))?;
    }
    if stream {
        set("duplex", &JsValue::from_str("half")).map_err(|e| network(request, &e))?;
    }
    if let Some(signal) = deadline.signal() {
        set("signal", &signal).map_err(|e| network(request, &e))?;
    }
    let returned = f
        .call2(&JsValue::UNDEFINED, &JsValue::from_str(&request.url), &init)
        .map_err(|e| network(request, &e))?;
    let response = deadline
        .race(Promise::resolve(&returned))
        .await
        .map_err(|e| deadline.error(request, js_message(&e)))?;
    let status = Reflect::get(&response, &JsValue::from_str("status"))
        .ok()
        .and_then(|s| s.as_f64())
        .filter(|s| (100.0..=599.0).contains(s))
        .ok_or_else(|| Error::Network {
            endpoint: request.endpoint(),
            message: "fetch function returned no valid `status`".into(),
        })? as u16;
    let mut out = HttpResponse::new(status, String::new());
    if let Ok(h) = Reflect::get(&response, &JsValue::from_str("headers")) {
        if let Ok(get) =
            Reflect::get(&h, &JsValue::from_str("get")).and_then(|g| g.dyn_into::<Function>())
        {
            for name in HttpResponse::READ_HEADERS {
                if let Some(v) = get
                    .call1(&h, &JsValue::from_str(name))
                    .ok()
                    .and_then(|v| v.as_string())
                {
                    out.headers.push(((*name).to_string(), v));
                }
            }
        }
    }
    let text = Reflect::get(&response, &JsValue::from_str("text"))
        .and_then(|t| t.dyn_into::<Function>())
        .map_err(|_| Error::Network {
            endpoint: request.endpoint(),
            message: "fetch function's response has no text()".into(),
        })?;
    let body = text.call0(&response).map_err(|e| network(request, &e))?;
    let body = deadline
        .race(Promise::resolve(&body))
        .await
        .map_err(|e| deadline.error(request, js_message(&e)))?;
    out.body = body.as_string().unwrap_or_default();
    Ok(out)
}

fn global_fetch() -> Result<Function> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            Error::invalid(
                "fetch",
                "this host has no global fetch; pass a fetch function",
            )
        })
}

/// `new <name>(...args)` of a global constructor (`Blob`, `ReadableStream`).
fn construct(request: &HttpRequest, name: &str, args: &js_sys::Array) -> Result<JsValue> {
    let ctor = global_function(name).ok_or_else(|| Error::Network {
        endpoint: request.endpoint(),
        message: format!("this host has no global {name}"),
    })?;
    Reflect::construct(&ctor, args).map_err(|e| network(request, &e))
}

/// The body as one `Blob`, built a chunk at a time (`new Blob([blob, chunk])`: the host keeps
/// the bytes once, outside the JS heap; the chunk's string is dropped at once). fetch then sends
/// it with `Content-Length`.
fn blob_body(request: &HttpRequest, body: &Rc<RefCell<dyn BodySource>>) -> Result<JsValue> {
    let mut b = body.borrow_mut();
    b.rewind();
    let mut blob = construct(request, "Blob", &js_sys::Array::new())?;
    while let Some(chunk) = b.next_chunk()? {
        let bytes = js_sys::Uint8Array::from(chunk.as_bytes());
        blob = construct(
            request,
            "Blob",
            &js_sys::Array::of1(&js_sys::Array::of2(&blob, &bytes)),
        )?;
    }
    Ok(blob)
}

/// The `pull` callback of a request body's `ReadableStream` (kept alive while fetch reads it).
type Pull = Closure<dyn FnMut(JsValue)>;

/// A `ReadableStream` whose `pull` takes the next chunk from `body` when fetch wants more: one
/// chunk is held at a time. A failure to produce a chunk errors the stream and is kept in
/// `failed` (the caller returns it rather than fetch's network error).
fn stream_body(
    request: &HttpRequest,
    body: &Rc<RefCell<dyn BodySource>>,
    failed: &Rc<RefCell<Option<Error>>>,
) -> Result<(JsValue, Pull)> {
    body.borrow_mut().rewind();
    let (body, failed) = (body.clone(), failed.clone());
    let pull = Closure::<dyn FnMut(JsValue)>::new(move |controller: JsValue| {
        let call = |name: &str, arg: Option<&JsValue>| {
            if let Ok(f) = Reflect::get(&controller, &JsValue::from_str(name))
                .and_then(|f| f.dyn_into::<Function>())
            {
                let _ = match arg {
                    Some(a) => f.call1(&controller, a),
                    None => f.call0(&controller),
                };
            }
        };
        match body.borrow_mut().next_chunk() {
            Ok(Some(chunk)) => call(
                "enqueue",
                Some(&js_sys::Uint8Array::from(chunk.as_bytes()).into()),
            ),
            Ok(None) => call("close", None),
            Err(e) => {
                call("error", Some(&JsValue::from_str(e.code())));
                *failed.borrow_mut() = Some(e);
            }
        }
    });
    let source = Object::new();
    Reflect::set(&source, &JsValue::from_str("pull"), pull.as_ref())
        .map_err(|e| network(request, &e))?;
    let stream = construct(request, "ReadableStream", &js_sys::Array::of1(&source))?;
    Ok((stream, pull))
}

impl HttpClient for Transport {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
        match self {
            Transport::Function(f) => via_function(f, request).await,
            Transport::Fetch => via_function(&global_fetch()?, request).await,
        }
    }

    async fn send_body(
        &self,
        request: &HttpRequest,
        body: &Rc<RefCell<dyn BodySource>>,
        transfer: Transfer,
    ) -> Result<HttpResponse> {
        let f = match self {
            Transport::Function(f) => f.clone(),
            Transport::Fetch => global_fetch()?,
        };
        if transfer == Transfer::Length {
            let blob = blob_body(request, body)?;
            return send_js(&f, request, Some(blob), false).await;
        }
        let failed = Rc::new(RefCell::new(None));
        let (stream, pull) = stream_body(request, body, &failed)?;
        let outcome = send_js(&f, request, Some(stream), true).await;
        drop(pull);
        let kept = failed.borrow_mut().take();
        match kept {
            Some(e) => Err(e),
            None => outcome,
        }
    }

    fn jitter(&self) -> f64 {
        js_sys::Math::random()
    }

    async fn sleep(&self, ms: u64) {
        let promise = Promise::new(&mut |resolve, _reject| {
            let set_timeout = Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok());
            match set_timeout {
                Some(st) => {
                    let _ = st.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(ms as f64));
                }
                None => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}

/// `Date.now()`.
#[derive(Clone, Copy)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}
