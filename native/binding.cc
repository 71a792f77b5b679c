// Node-API binding: class NativeCore implements the Core interface of src/core/core.ts.
// Every argument is type-checked (TypeError) and range-checked (EINVAL status), so no input
// from JavaScript can crash the process.
#include "lackey_scan.h"
#include <napi.h>

#include <sys/file.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cpu.h"
#include "hierarchy.h"
#include "frames.h"
#include "page_table.h"
#include "ram.h"
#include "reclaim.h"
#include "tlb.h"

using namespace vmsim;

namespace {

bool isInt(double v) { return std::isfinite(v) && v == std::floor(v); }

// JavaScript's ToUint32 / ToInt32 (what `>>> 0` and `| 0` do in the reference core), defined for
// every double: a plain cast of NaN, an infinity or a value out of range is undefined behaviour.
uint32_t toUint32(double v) {
  if (v >= 0 && v < 4294967296.0) return static_cast<uint32_t>(v);
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<uint32_t>(m);
}
int32_t toInt32(double v) { return static_cast<int32_t>(toUint32(v)); }

// An Error with an errno `code` property: src/core/native-core.ts turns it into a VmmError.
[[noreturn]] void throwErrno(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

// One napi call per argument (the type check is napi_get_value_double's own status).
double num(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double v;
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &v) != napi_ok) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return v;
}

bool flag(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// One napi call: napi_get_typedarray_info gives the data pointer of an ArrayBuffer- or
// SharedArrayBuffer-backed array alike (the reference core accepts both); a detached array has length 0.
template <typename T>
T* typed(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* name, size_t* length = nullptr) {
  napi_typedarray_type t;
  size_t n = 0;
  void* data = nullptr;
  if (v.IsEmpty() || !v.IsTypedArray() || napi_get_typedarray_info(env, v, &t, &n, &data, nullptr, nullptr) != napi_ok || t != type)
    throw Napi::TypeError::New(env, std::string(name) + " has the wrong typed-array type");
  if (length) *length = data ? n : 0;
  return static_cast<T*>(data);
}

// A range [la, la + count * 2^shift) that is aligned, in bounds and inside one half.
bool rangeOk(double la, double count, int shift) {
  const double size = std::ldexp(1.0, shift);
  // The alignment test on the integer, not fmod (a libm call on every map, unmap and protect).
  if (!isInt(la) || !isInt(count) || la < 0 || count < 1 || la >= static_cast<double>(TWO48)) return false;
  if ((static_cast<uint64_t>(la) & ((1ull << shift) - 1)) != 0) return false;
  const double end = la + count * size;
  return end <= static_cast<double>(TWO48) && !(la < static_cast<double>(TWO47) && end > static_cast<double>(TWO47));
}

// One CPU of the core: its TLB (TypeScript's arrays), counters, CR3 and walker, and its
// optional TLB hierarchy. Heap-allocated so the Cpu's references stay valid.
struct CpuCtx {
  Tlb tlb{};
  double* counters = nullptr;
  std::unique_ptr<Cpu> cpu;
  std::unique_ptr<Hierarchy> hier;
  Napi::ObjectReference hierStats;  // keeps the stats array the hierarchy writes alive
};

// Reads a TlbState object (src/core/tlb-state.ts) into `tlb`: pointers into its typed arrays.
void readTlb(Napi::Env env, Napi::Value v, Tlb& tlb) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "tlb must be a TlbState object");
  Napi::Object t = v.As<Napi::Object>();
  tlb.sets = t.Get("sets").ToNumber().Uint32Value();
  tlb.ways = t.Get("ways").ToNumber().Uint32Value();
  tlb.hashSize = t.Get("hashSize").ToNumber().Uint32Value();
  tlb.hashBits = t.Get("hashBits").ToNumber().Uint32Value();
  tlb.entries = tlb.sets * tlb.ways;
  tlb.setMask = (tlb.sets & (tlb.sets - 1)) == 0 ? tlb.sets - 1 : 0;
  size_t n = 0, h = 0, s = 0;
  tlb.key = typed<double>(env, t.Get("key"), napi_float64_array, "tlb.key", &n);
  tlb.pbase = typed<double>(env, t.Get("pbase"), napi_float64_array, "tlb.pbase");
  tlb.flags = typed<uint8_t>(env, t.Get("flags"), napi_uint8_array, "tlb.flags");
  size_t sn = 0, kn = 0;
  tlb.stamp = typed<double>(env, t.Get("stamp"), napi_float64_array, "tlb.stamp", &sn);
  tlb.clock = typed<double>(env, t.Get("clock"), napi_float64_array, "tlb.clock", &kn);
  tlb.prev = typed<int32_t>(env, t.Get("prev"), napi_int32_array, "tlb.prev");
  tlb.next = typed<int32_t>(env, t.Get("next"), napi_int32_array, "tlb.next");
  tlb.head = typed<int32_t>(env, t.Get("head"), napi_int32_array, "tlb.head", &s);
  tlb.tail = typed<int32_t>(env, t.Get("tail"), napi_int32_array, "tlb.tail");
  tlb.hash = typed<int32_t>(env, t.Get("hash"), napi_int32_array, "tlb.hash", &h);
  tlb.meta = typed<int32_t>(env, t.Get("meta"), napi_int32_array, "tlb.meta");
  if (tlb.sets == 0 || tlb.ways == 0 || n != tlb.entries || sn != n || kn < 1 || s != tlb.sets || h != tlb.hashSize || tlb.hashSize != (1u << tlb.hashBits))
    throw Napi::RangeError::New(env, "tlb arrays do not match its shape");
}

// The TLB maintenance of one CPU, shared by the calls on the selected CPU and tlbOps: each
// reaches the CPU's TLB and its hierarchy, as the instruction does (SDM Vol. 3A §4.10.4.1).
void invlpgOn(CpuCtx& c, uint32_t pcid, uint64_t la, uint64_t count, uint32_t shift) {
  for (uint64_t k = 0; k < count; k++) c.tlb.invalidateAddress(la + (k << shift), pcid);
  if (c.hier)
    for (uint64_t k = 0; k < count; k++) c.hier->invalidate(HOP_INVLPG, pcid, la + (k << shift));
  c.counters[C_INVLPG] += static_cast<double>(count);
}
void flushPcidOn(CpuCtx& c, uint32_t pcid) {
  c.tlb.invalidateWhere([pcid](double k, uint8_t f) { return !(f & T_GLOBAL) && static_cast<uint64_t>(k) % 8192 == pcid; });
  if (c.hier) c.hier->invalidate(HOP_CONTEXT, pcid, 0);
  c.counters[C_FLUSHES] += 1;
}
void flushAllOn(CpuCtx& c, bool all) {
  c.tlb.invalidateWhere([all](double k, uint8_t f) { return all || (!(f & T_GLOBAL) && static_cast<uint64_t>(k) % 8192 != GLOBAL_TAG); });
  if (c.hier) c.hier->invalidate(all ? HOP_ALL_GLOBAL : HOP_ALL, 0, 0);
  c.counters[C_FLUSHES] += 1;
}
void setCr3On(CpuCtx& c, bool pcide, int64_t root, uint32_t pcid, bool noFlush) {
  c.cpu->setCr3(root, pcid, noFlush);
  // SDM §4.10.4.1: a CR3 load drops the new PCID's non-global translations and walk-cache entries, unless bit 63 says not to.
  if (c.hier && !(pcide && noFlush)) c.hier->invalidate(HOP_CONTEXT, c.cpu->tag(), 0);
}

class NativeCore;

// The cores of one thread (a Node-API env). A core's methods are Node-API functions whose
// data pointer is a slot that names the core; a slot and its functions are reused by a later
// core once the core's object was collected, so a machine made and dropped costs no new
// function objects — whose bookkeeping Node frees only after the running script yields to the
// event loop. A collected core is freed by the next createCore or dispose of its thread
// (sweep), so even a loop that makes machines without dispose() and never yields runs in
// bounded memory: a weak reference tells a collected object at once (the GC clears it), and
// RAM is unmapped only once every view of it is collected too.
struct Slot {
  NativeCore* core = nullptr;  // null while the slot is free
  Napi::ObjectReference methods;  // its functions (strong: they outlive a collected core's object)
};
struct CoreTable {
  std::vector<Slot*> slots;  // every slot made (each owned here)
  std::vector<Slot*> free;
  int refs = 1;  // the env's own, plus one per core finalizer still to run (whichever goes last deletes the table)
  ~CoreTable() {
    for (Slot* s : slots) delete s;
  }
};
void unrefTable(CoreTable* table) {
  if (--table->refs == 0) delete table;
}
void finalizeTable(Napi::Env, CoreTable* table) { unrefTable(table); }
void sweep(napi_env env, CoreTable* table);

// The hint of a core's finalizer: outlives the core when a sweep freed it first (core = null).
struct CoreRef {
  CoreTable* table;
  Slot* slot;
  NativeCore* core;
};

class NativeCore {
 public:
  // Builds the core from (memoryBytes, features, tlb, counters, result, eager, otherCpus) and fills `self` with its fields.
  NativeCore(const Napi::CallbackInfo& info, Napi::Object self) {
    Napi::Env env = info.Env();
    const double bytes = num(info, 0, "memoryBytes");
    if (!isInt(bytes) || bytes < 2097152.0 || bytes > 1099511627776.0 || std::fmod(bytes, 4096) != 0)
      throw Napi::RangeError::New(env, "memoryBytes must be a multiple of 4096 in [2 MiB, 1 TiB]");
    const double features = num(info, 1, "features");
    if (info.Length() < 5 || !info[2].IsObject()) throw Napi::TypeError::New(env, "tlb must be a TlbState object");
    size_t rn = 0;
    result_ = typed<double>(env, info[4], napi_float64_array, "result", &rn);
    if (rn < R_LENGTH) throw Napi::RangeError::New(env, "counters or result too short");
    // CPU 0 from (tlb, counters); CPUs 1.. from otherCpus[i - 1] = { tlb, counters }.
    std::vector<std::pair<Napi::Value, Napi::Value>> given{{info[2], info[3]}};
    if (info.Length() > 6 && !info[6].IsUndefined() && !info[6].IsNull()) {
      if (!info[6].IsArray()) throw Napi::TypeError::New(env, "otherCpus must be an array of { tlb, counters }");
      Napi::Array more = info[6].As<Napi::Array>();
      if (more.Length() > 255) throw Napi::RangeError::New(env, "at most 256 CPUs");
      for (uint32_t i = 0; i < more.Length(); i++) {
        Napi::Value o = more.Get(i);
        if (!o.IsObject()) throw Napi::TypeError::New(env, "otherCpus must be an array of { tlb, counters }");
        given.emplace_back(o.As<Napi::Object>().Get("tlb"), o.As<Napi::Object>().Get("counters"));
      }
    }
    refs_ = Napi::Persistent(Napi::Array::New(env, given.size() * 2 + 1));
    refs_.Value().Set(0u, info[4]);
    for (size_t i = 0; i < given.size(); i++) {
      auto c = std::make_unique<CpuCtx>();
      readTlb(env, given[i].first, c->tlb);
      size_t cn = 0;
      c->counters = typed<double>(env, given[i].second, napi_float64_array, "counters", &cn);
      if (cn < C_LENGTH) throw Napi::RangeError::New(env, "counters or result too short");
      refs_.Value().Set(static_cast<uint32_t>(2 * i + 1), given[i].first);
      refs_.Value().Set(static_cast<uint32_t>(2 * i + 2), given[i].second);
      cpus_.push_back(std::move(c));
    }
    const bool eager = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
    const uint64_t total = static_cast<uint64_t>(bytes) / 4096;
    // A snapshot's state (info[7]): { refs, used?, ram?, selected, cpus: [{ root, tag }] } (src/core/core-state.ts).
    Napi::Object from;
    const uint32_t* refs = nullptr;
    const uint64_t* used = nullptr;
    std::shared_ptr<RamImage> image;
    if (info.Length() > 7 && info[7].IsObject()) {
      from = info[7].As<Napi::Object>();
      size_t rn2 = 0, un = 0;
      refs = typed<uint32_t>(env, from.Get("refs"), napi_uint32_array, "from.refs", &rn2);
      if (rn2 != total) throw Napi::RangeError::New(env, "from.refs must have one count per frame");
      if (from.Has("used") && !from.Get("used").IsUndefined()) {
        used = reinterpret_cast<const uint64_t*>(typed<uint32_t>(env, from.Get("used"), napi_uint32_array, "from.used", &un));
        if (un != 2 * ((total + 63) / 64)) throw Napi::RangeError::New(env, "from.used must have one bit per frame in 64-bit words");
      }
      Napi::Value r = from.Get("ram");
      if (r.IsExternal()) image = *r.As<Napi::External<std::shared_ptr<RamImage>>>().Data();
      if (r.IsExternal() && (!image || image->bytes != static_cast<uint64_t>(bytes))) throw Napi::RangeError::New(env, "from.ram is an image of another size");
    }
    ram_ = image ? std::make_shared<Ram>(*image) : std::make_shared<Ram>(static_cast<uint64_t>(bytes), eager && !refs);
    if (!ram_->ok()) throwErrno(env, "ENOMEM", "could not reserve " + std::to_string(static_cast<uint64_t>(bytes)) + " bytes of host address space for simulated RAM");
    if (eager && !ram_->commitAll())
      throwErrno(env, "ENOMEM", "could not commit host memory for simulated RAM (hostMemory: 'eager')");
    try {
      frames_ = refs ? std::make_unique<Frames>(total, *ram_, refs, used) : std::make_unique<Frames>(total, *ram_);
      for (auto& c : cpus_) c->cpu = std::make_unique<Cpu>(*ram_, c->tlb, c->counters, result_, toInt32(features));
    } catch (const std::bad_alloc&) {
      throwErrno(env, "ENOMEM", "could not allocate host memory for the frame allocator");
    }
    cur_ = cpus_[0].get();
    pt_ = refs ? std::make_unique<PageTables>(*ram_, *frames_, cur_->counters, true) : std::make_unique<PageTables>(*ram_, *frames_, cur_->counters);
    if (!pt_->ok()) throw Napi::RangeError::New(env, "memory too small for the kernel page tables");
    if (refs) {
      Napi::Value cl = from.Get("cpus");
      if (!cl.IsArray() || cl.As<Napi::Array>().Length() != cpus_.size()) throw Napi::RangeError::New(env, "from.cpus must have one state per CPU");
      for (uint32_t i = 0; i < cpus_.size(); i++) {
        Napi::Value c = cl.As<Napi::Array>().Get(i);
        if (!c.IsObject()) throw Napi::TypeError::New(env, "from.cpus[i] must be { root, tag }");
        const double root = c.As<Napi::Object>().Get("root").ToNumber().DoubleValue(), tag = c.As<Napi::Object>().Get("tag").ToNumber().DoubleValue();
        if (!isInt(root) || root < -1 || root >= static_cast<double>(total) || !isInt(tag) || tag < 0 || tag > 4095) throw Napi::RangeError::New(env, "from.cpus[i]: bad root or tag");
        cpus_[i]->cpu->restoreCr3(static_cast<int64_t>(root), static_cast<uint32_t>(tag));
      }
      const double sel = from.Get("selected").ToNumber().DoubleValue();
      if (!isInt(sel) || sel < 0 || sel >= static_cast<double>(cpus_.size())) throw Napi::RangeError::New(env, "from.selected is not a CPU");
      cur_ = cpus_[static_cast<size_t>(sel)].get();
      pt_->setCounters(cur_->counters);
    }
    pcide_ = (toInt32(features) & F_PCIDE) != 0;
    chunks_.resize((static_cast<uint64_t>(bytes) + CHUNK_BYTES - 1) / CHUNK_BYTES);
    env_ = env;
    self_ = Napi::Weak(self);
    account(env);
    self.Set("backend", Napi::String::New(env, "native"));
    self.Set("totalFrames", Napi::Number::New(env, bytes / 4096));
    self.Set("cpuCount", Napi::Number::New(env, static_cast<double>(cpus_.size())));
  }

 // Methods are public: the trampolines below call them with the instance from the function's data.
  Napi::Value N(const Napi::CallbackInfo& info, double v) { return Napi::Number::New(info.Env(), v); }
  void live(const Napi::CallbackInfo& info) {
    if (!cur_) throw Napi::Error::New(info.Env(), "the core has been disposed");
  }
  // Marks the calls that may change page tables or RAM. (The walker's paging-structure cache
  // checks the entries it stands for on every use, so no call needs to tell it anything.)
  void mut(const Napi::CallbackInfo& info) {
    live(info);
    // Tell V8 what the machine commits, a megabyte at a time: it then collects machines nobody disposed.
    if (frames_->touched() >= accounted_ + 256) account(info.Env());
  }
  // napi_adjust_external_memory to the host memory this core commits: its touched frames' pages
  // and their share of the frame allocator's arrays.
  void account(napi_env env) {
    accounted_ = frames_->touched();
    const int64_t now = static_cast<int64_t>(accounted_) * (4096 + 8) + 65536;
    int64_t total;
    napi_adjust_external_memory(env, now - reported_, &total);
    reported_ = now;
  }
  bool rootOk(double r) { return frames_->usable(r); }

  Napi::Value RamChunk(const Napi::CallbackInfo& info) {
    live(info);
    const double i = num(info, 0, "i");
    if (!isInt(i) || i < 0 || i >= static_cast<double>(chunks_.size())) throw Napi::RangeError::New(info.Env(), "chunk index out of range");
    const size_t k = static_cast<size_t>(i);
    // Weakly held: the same view while anyone holds it (stable for the core's life), and a
    // collected machine's views do not keep its RAM mapped.
    if (!chunks_[k].IsEmpty()) {
      Napi::Uint8Array v = chunks_[k].Value();
      if (!v.IsEmpty()) return v;
    }
    const uint64_t off = k * CHUNK_BYTES;
    const uint64_t len = ram_->bytes() - off < CHUNK_BYTES ? ram_->bytes() - off : CHUNK_BYTES;
    Napi::Uint8Array v = view(info.Env(), off, len);
    chunks_[k] = Napi::Weak(v);
    return v;
  }
  // A view of RAM [off, off + len): its buffer keeps the mapping alive (shared ownership) even if the core goes first.
  Napi::Uint8Array view(Napi::Env env, uint64_t off, uint64_t len) {
    auto* keep = new std::shared_ptr<Ram>(ram_);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, ram_->base() + off, len, [](Napi::Env, void*, std::shared_ptr<Ram>* hint) { delete hint; }, keep);
    return Napi::Uint8Array::New(env, len, ab, 0);
  }
  // A 2 MiB view (see core.ts ramWindow): V8 counts an external buffer's length as memory pressure.
  Napi::Value RamWindow(const Napi::CallbackInfo& info) {
    live(info);
    constexpr uint64_t WINDOW = 1ull << 21;
    const double i = num(info, 0, "i");
    if (!isInt(i) || i < 0 || i * static_cast<double>(WINDOW) >= static_cast<double>(ram_->bytes())) throw Napi::RangeError::New(info.Env(), "window index out of range");
    const uint64_t off = static_cast<uint64_t>(i) * WINDOW;
    const uint64_t len = ram_->bytes() - off < WINDOW ? ram_->bytes() - off : WINDOW;
    // Weakly held, as chunks are: RAM is unmapped only once every view of it is collected.
    auto it = windows_.find(static_cast<uint64_t>(i));
    if (it != windows_.end()) {
      Napi::Uint8Array v = it->second.Value();
      if (!v.IsEmpty()) return v;
    }
    Napi::Uint8Array v = view(info.Env(), off, len);
    windows_[static_cast<uint64_t>(i)] = Napi::Weak(v);
    return v;
  }
  Napi::Value FreeFrames(const Napi::CallbackInfo& info) { live(info); return N(info, static_cast<double>(frames_->freeCount())); }
  Napi::Value AllocFrame(const Napi::CallbackInfo& info) { mut(info); return N(info, static_cast<double>(frames_->alloc())); }
  Napi::Value AllocFrames(const Napi::CallbackInfo& info) {
    mut(info);
    return N(info, static_cast<double>(frames_->allocRun(num(info, 0, "count"), num(info, 1, "align"))));
  }
  Napi::Value AllocFrameList(const Napi::CallbackInfo& info) {
    mut(info);
    size_t n = 0;
    double* out = typed<double>(info.Env(), info[0], napi_float64_array, "out", &n);
    return N(info, frames_->allocList(out, n, num(info, 1, "count")));
  }
  Napi::Value MapList(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la");
    size_t n = 0;
    const double* list = typed<double>(info.Env(), info[2], napi_float64_array, "frames", &n);
    const uint64_t lo = attrs(num(info, 3, "attrLo")), hi = attrs(num(info, 4, "attrHi"));
    if (!rootOk(root) || !rangeOk(la, static_cast<double>(n), 12)) return N(info, EINVAL_);
    return N(info, pt_->map(static_cast<uint64_t>(root), static_cast<uint64_t>(la), n, 1, lo, hi << 32, -1, list));
  }
  Napi::Value RefFrame(const Napi::CallbackInfo& info) { mut(info); return N(info, static_cast<double>(frames_->ref(num(info, 0, "pfn")))); }
  Napi::Value UnrefFrame(const Napi::CallbackInfo& info) { mut(info); return N(info, static_cast<double>(frames_->unref(num(info, 0, "pfn")))); }
  Napi::Value RefCount(const Napi::CallbackInfo& info) {
    live(info);
    const double p = num(info, 0, "pfn");
    if (!isInt(p) || p < 0 || p >= static_cast<double>(frames_->total())) return N(info, EINVAL_);
    return N(info, frames_->count(static_cast<uint64_t>(p)));
  }
  Napi::Value UnrefFrameList(const Napi::CallbackInfo& info) {
    mut(info);
    size_t n = 0;
    const double* list = typed<double>(info.Env(), info[0], napi_float64_array, "frames", &n);
    const double c = num(info, 1, "count");
    if (!isInt(c) || c < 0 || c > static_cast<double>(n)) return N(info, EINVAL_);
    return N(info, static_cast<double>(frames_->unrefList(list, static_cast<size_t>(c))));
  }
  Napi::Value RefCountList(const Napi::CallbackInfo& info) {
    live(info);
    size_t n = 0, m = 0;
    const double* list = typed<double>(info.Env(), info[0], napi_float64_array, "frames", &n);
    const double c = num(info, 1, "count");
    double* out = typed<double>(info.Env(), info[2], napi_float64_array, "out", &m);
    if (!isInt(c) || c < 0 || c > static_cast<double>(n) || c > static_cast<double>(m)) return N(info, EINVAL_);
    const size_t count = static_cast<size_t>(c);
    const double total = static_cast<double>(frames_->total());
    for (size_t i = 0; i < count; i++)
      if (!isInt(list[i]) || list[i] < 0 || list[i] >= total) return N(info, EINVAL_);
    for (size_t i = 0; i < count; i++) out[i] = frames_->count(static_cast<uint64_t>(list[i]));
    return N(info, OK);
  }
  Napi::Value NoteWritten(const Napi::CallbackInfo& info) {
    mut(info);
    const double p = num(info, 0, "pfn"), n = num(info, 1, "count");
    if (isInt(p) && isInt(n) && p >= 0 && n >= 0 && p < static_cast<double>(frames_->total()) && n <= static_cast<double>(frames_->total())) frames_->noteWritten(static_cast<uint64_t>(p), static_cast<uint64_t>(n));
    return info.Env().Undefined();
  }
  Napi::Value CopyFrame(const Napi::CallbackInfo& info) {
    mut(info);
    const double d = num(info, 0, "dst"), s = num(info, 1, "src");
    if (!frames_->usable(d) || !frames_->usable(s)) return N(info, EINVAL_);
    ram_->copyFrame(static_cast<uint64_t>(d), static_cast<uint64_t>(s));
    return N(info, OK);
  }
  Napi::Value CreateRoot(const Napi::CallbackInfo& info) { mut(info); return N(info, static_cast<double>(pt_->createRoot())); }
  Napi::Value DestroyRoot(const Napi::CallbackInfo& info) {
    mut(info);
    const double r = num(info, 0, "root");
    if (!rootOk(r)) return N(info, EINVAL_);
    return N(info, pt_->destroyRoot(static_cast<uint64_t>(r)));
  }
  Napi::Value Map(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), count = num(info, 2, "count"), shift = num(info, 3, "shift");
    const double lo = num(info, 4, "attrLo"), hi = num(info, 5, "attrHi"), pfn = num(info, 6, "pfn");
    const int level = shift == 12 ? 1 : shift == 21 ? 2 : shift == 30 ? 3 : 0;
    if (!level || !rootOk(root) || !rangeOk(la, count, static_cast<int>(shift)) || !isInt(pfn) || pfn < -1) return N(info, EINVAL_);
    if (pfn >= 0 && std::fmod(pfn, std::ldexp(1.0, static_cast<int>(shift) - 12)) != 0) return N(info, EINVAL_);
    // A frame number past RAM fails the frame check in map all the same (after the slot checks); clamped so the cast stays defined.
    const double total = static_cast<double>(frames_->total());
    return N(info, pt_->map(static_cast<uint64_t>(root), static_cast<uint64_t>(la), static_cast<uint64_t>(count), level, attrs(lo), attrs(hi) << 32, static_cast<int64_t>(pfn < total ? pfn : total)));
  }
  static uint64_t attrs(double w) { return toUint32(w); }
  // result[E..H]: unmap's tables freed (protect's leaves to flush), the span [F, G), the levels (core.ts Result).
  void putSpan(const FlushSpan& f, bool unmap) {
    const bool any = f.levels != 0;
    result_[R_E] = static_cast<double>(unmap ? f.tables : f.leaves);
    result_[R_F] = any ? static_cast<double>(f.start) : 0;
    result_[R_G] = any ? static_cast<double>(f.end) : 0;
    result_[R_H] = static_cast<double>(f.levels);
  }
  Napi::Value Unmap(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), count = num(info, 2, "count");
    if (!rootOk(root) || !rangeOk(la, count, 12)) return N(info, EINVAL_);
    uint64_t freed = 0;
    FlushSpan span;
    const int64_t n = pt_->unmap(static_cast<uint64_t>(root), static_cast<uint64_t>(la), static_cast<uint64_t>(count), &freed, &span);
    result_[R_D] = static_cast<double>(freed);
    putSpan(span, true);
    return N(info, static_cast<double>(n));
  }
  Napi::Value Protect(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), count = num(info, 2, "count");
    const uint64_t set = attrs(num(info, 3, "setLo")) | (attrs(num(info, 4, "setHi")) << 32);
    const uint64_t clr = attrs(num(info, 5, "clrLo")) | (attrs(num(info, 6, "clrHi")) << 32);
    const uint64_t cond = attrs(num(info, 7, "ifLo")), condClr = attrs(num(info, 8, "thenClrLo"));
    if (!rootOk(root) || !rangeOk(la, count, 12)) return N(info, EINVAL_);
    FlushSpan span;
    const int64_t n = pt_->protect(static_cast<uint64_t>(root), static_cast<uint64_t>(la), static_cast<uint64_t>(count), set, clr, cond, condClr, &span);
    if (n >= 0) putSpan(span, false);
    return N(info, static_cast<double>(n));
  }
  Napi::Value ScanAccessed(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), count = num(info, 2, "count");
    const bool clear = flag(info, 3, "clear");
    if (!rootOk(root) || !rangeOk(la, count, 12)) return N(info, EINVAL_);
    uint64_t pages = 0;
    const int64_t n = pt_->scanAccessed(static_cast<uint64_t>(root), static_cast<uint64_t>(la), static_cast<uint64_t>(count), clear, &pages);
    result_[R_A] = static_cast<double>(pages);
    return N(info, static_cast<double>(n));
  }
  Napi::Value Translate(const Napi::CallbackInfo& info) {
    live(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la");
    if (!rootOk(root) || !isInt(la) || la < 0 || la >= static_cast<double>(TWO48)) return N(info, EINVAL_);
    uint64_t table, idx;
    const uint64_t a = static_cast<uint64_t>(la);
    const int level = pt_->leaf(static_cast<uint64_t>(root), a, &table, &idx, false);
    if (!level) return N(info, ENOENT_);
    const uint64_t e = *pt_->slot(table, idx);
    const uint64_t size = spanOf(level);
    const uint64_t base = (entryPfn(e) & ~(leafFrames(level) - 1)) * 4096;
    result_[R_A] = static_cast<double>(base + (a & (size - 1)));
    result_[R_B] = static_cast<double>(static_cast<uint32_t>(e));
    result_[R_C] = static_cast<double>(static_cast<uint32_t>(e >> 32));
    result_[R_D] = 3 + 9 * level;
    return N(info, OK);
  }
  Napi::Value Fork(const Napi::CallbackInfo& info) {
    mut(info);
    const double src = num(info, 0, "src"), dst = num(info, 1, "dst"), la = num(info, 2, "la"), count = num(info, 3, "count");
    const uint64_t pClr = attrs(num(info, 4, "parentClrLo")), pSet = attrs(num(info, 5, "parentSetLo")), cClr = attrs(num(info, 6, "childClrLo"));
    if (!rootOk(src) || !rootOk(dst) || src == dst || !rangeOk(la, count, 12)) return N(info, EINVAL_);
    return N(info, static_cast<double>(pt_->fork(static_cast<uint64_t>(src), static_cast<uint64_t>(dst), static_cast<uint64_t>(la), static_cast<uint64_t>(count), pClr, pSet, cClr)));
  }
  Napi::Value CowBreak(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), mode = num(info, 2, "mode");
    const uint64_t a = attrs(num(info, 3, "attrLo")) | (attrs(num(info, 4, "attrHi")) << 32);
    if (!rootOk(root) || !rangeOk(la, 1, 12) || (mode != 0 && mode != 1)) return N(info, EINVAL_);
    return N(info, static_cast<double>(pt_->cowBreak(static_cast<uint64_t>(root), static_cast<uint64_t>(la), mode == 0, a)));
  }
  Napi::Value CountFrames(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), count = num(info, 2, "count"), pfn = num(info, 3, "pfn"), frames = num(info, 4, "frames");
    if (!rootOk(root) || !rangeOk(la, count, 12) || !isInt(pfn) || pfn < 0 || !isInt(frames) || frames < 0) return N(info, EINVAL_);
    return N(info, static_cast<double>(pt_->countFrames(static_cast<uint64_t>(root), static_cast<uint64_t>(la), static_cast<uint64_t>(count), static_cast<uint64_t>(pfn), static_cast<uint64_t>(frames))));
  }
  Napi::Value MoveRange(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), src = num(info, 1, "src"), dst = num(info, 2, "dst"), count = num(info, 3, "count");
    if (!rootOk(root) || !rangeOk(src, count, 12) || !rangeOk(dst, count, 12)) return N(info, EINVAL_);
    const double len = count * 4096;
    if (src + len > static_cast<double>(TWO47) || dst + len > static_cast<double>(TWO47) || (src < dst + len && dst < src + len)) return N(info, EINVAL_);
    return N(info, static_cast<double>(pt_->moveRange(static_cast<uint64_t>(root), static_cast<uint64_t>(src), static_cast<uint64_t>(dst), static_cast<uint64_t>(count))));
  }
  Napi::Value SetCr3(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), pcid = num(info, 1, "pcid");
    const bool noFlush = flag(info, 2, "noFlush");
    if (!rootOk(root) || !isInt(pcid) || pcid < 0 || pcid > 4095) throw Napi::RangeError::New(info.Env(), "setCr3: bad root or pcid");
    setCr3On(*cur_, pcide_, static_cast<int64_t>(root), static_cast<uint32_t>(pcid), noFlush);
    return info.Env().Undefined();
  }
  Napi::Value Invalidate(const Napi::CallbackInfo& info) {
    mut(info);
    const double pcid = num(info, 0, "pcid"), la = num(info, 1, "la"), count = num(info, 2, "count");
    if (!isInt(pcid) || pcid < 0 || pcid > 4096 || !isInt(la) || la < 0 || la >= static_cast<double>(TWO48) || !isInt(count) || count < 0 || count > 1e9)
      throw Napi::RangeError::New(info.Env(), "invalidate: bad pcid, la or count");
    invlpgOn(*cur_, static_cast<uint32_t>(pcid), static_cast<uint64_t>(la), static_cast<uint64_t>(count), 12);
    return info.Env().Undefined();
  }
  Napi::Value FlushPcid(const Napi::CallbackInfo& info) {
    mut(info);
    const double pcid = num(info, 0, "pcid");
    if (!isInt(pcid) || pcid < 0 || pcid > 4095) throw Napi::RangeError::New(info.Env(), "flushPcid: bad pcid");
    flushPcidOn(*cur_, static_cast<uint32_t>(pcid));
    return info.Env().Undefined();
  }
  Napi::Value FlushAll(const Napi::CallbackInfo& info) {
    mut(info);
    flushAllOn(*cur_, flag(info, 0, "includeGlobal"));
    return info.Env().Undefined();
  }
  Napi::Value Access(const Napi::CallbackInfo& info) {
    live(info);
    const double la = num(info, 0, "la"), kind = num(info, 1, "kind"), flags = num(info, 2, "flags");
    if (!isInt(la) || la < 0 || la >= static_cast<double>(TWO48) || (kind != 0 && kind != 1 && kind != 2)) return N(info, EINVAL_);
    return N(info, cur_->cpu->access(static_cast<uint64_t>(la), static_cast<int>(kind), toInt32(flags)));
  }
  Napi::Value AccessBatch(const Napi::CallbackInfo& info) {
    live(info);
    size_t nl = 0, nk = 0;
    const double* las = typed<double>(info.Env(), info[0], napi_float64_array, "las", &nl);
    const uint8_t* kinds = typed<uint8_t>(info.Env(), info[1], napi_uint8_array, "kinds", &nk);
    const double start = num(info, 2, "start"), end = num(info, 3, "end"), flags = num(info, 4, "flags");
    if (!isInt(start) || !isInt(end) || start < 0 || start > end || end > static_cast<double>(nl) || end > static_cast<double>(nk)) return N(info, EINVAL_);
    return N(info, static_cast<double>(cur_->cpu->accessBatch(las, kinds, static_cast<uint64_t>(start), static_cast<uint64_t>(end), toInt32(flags))));
  }
  Napi::Value TraceBatch(const Napi::CallbackInfo& info) {
    live(info);
    size_t nw = 0, no = 0;
    const uint32_t* words = typed<uint32_t>(info.Env(), info[0], napi_uint32_array, "words", &nw);
    const double start = num(info, 1, "start"), end = num(info, 2, "end"), flags = num(info, 3, "flags");
    double* out = typed<double>(info.Env(), info[4], napi_float64_array, "out", &no);
    if (!isInt(start) || !isInt(end) || !isInt(flags) || start < 0 || end < 0 || start > end * 2 || end * 2 > static_cast<double>(nw) || no < 5) return N(info, EINVAL_);
    return N(info, static_cast<double>(cur_->cpu->traceBatch(words, static_cast<uint64_t>(start), static_cast<uint64_t>(end), toInt32(flags), out)));
  }
  Napi::Value CopyVirt(const Napi::CallbackInfo& info) {
    mut(info);
    const double la = num(info, 0, "la");
    size_t n = 0;
    uint8_t* buf = typed<uint8_t>(info.Env(), info[1], napi_uint8_array, "buf", &n);
    const double offset = num(info, 2, "offset"), length = num(info, 3, "length");
    const bool write = flag(info, 4, "write");
    const double flags = num(info, 5, "flags");
    if (!isInt(la) || la < 0 || la >= static_cast<double>(TWO48) || !isInt(offset) || !isInt(length) || offset < 0 || length < 0 || offset + length > static_cast<double>(n) ||
        la + length > static_cast<double>(TWO48))
      return N(info, EINVAL_);
    return N(info, static_cast<double>(cur_->cpu->copyVirt(static_cast<uint64_t>(la), buf + static_cast<size_t>(offset), static_cast<uint64_t>(length), write, toInt32(flags))));
  }
  // The TLB hierarchy (hierarchy.h): attach from (config, stats) or detach with null.
  Napi::Value HierarchySet(const Napi::CallbackInfo& info) {
    live(info);
    if (info.Length() < 1 || info[0].IsNull()) {
      cur_->cpu->attach(nullptr);
      cur_->hier.reset();
      cur_->hierStats.Reset();
      return N(info, OK);
    }
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      return N(info, EINVAL_);
    size_t nc = 0, ns = 0;
    const double* conf = typed<double>(info.Env(), info[0], napi_float64_array, "config", &nc);
    double* stats = typed<double>(info.Env(), info[1], napi_float64_array, "stats", &ns);
    if (!Hierarchy::configOk(conf, nc) || ns < static_cast<size_t>(H_STATS)) return N(info, EINVAL_);
    cur_->hier = std::make_unique<Hierarchy>(*cur_->cpu, *ram_, conf, stats);
    cur_->cpu->attach(cur_->hier.get());
    cur_->hierStats = Napi::Persistent(info[1].As<Napi::Object>());
    return N(info, OK);
  }
  Napi::Value HierTraceBatch(const Napi::CallbackInfo& info) {
    live(info);
    if (!cur_->hier) return N(info, EINVAL_);
    size_t nw = 0, no = 0;
    const uint32_t* words = typed<uint32_t>(info.Env(), info[0], napi_uint32_array, "words", &nw);
    const double start = num(info, 1, "start"), end = num(info, 2, "end"), flags = num(info, 3, "flags");
    double* out = typed<double>(info.Env(), info[4], napi_float64_array, "out", &no);
    if (!isInt(start) || !isInt(end) || !isInt(flags) || start < 0 || end < 0 || start > end * 2 || end * 2 > static_cast<double>(nw) || no < 5) return N(info, EINVAL_);
    if (!(static_cast<int>(flags) & 1)) return N(info, EINVAL_);
    return N(info, static_cast<double>(cur_->hier->traceBatch(words, static_cast<uint64_t>(start), static_cast<uint64_t>(end), static_cast<int>(flags), out)));
  }
  Napi::Value HierInvalidate(const Napi::CallbackInfo& info) {
    mut(info);
    const double op = num(info, 0, "op"), pcid = num(info, 1, "pcid"), la = num(info, 2, "la");
    if (!cur_->hier || !isInt(op) || op < 0 || op > HOP_ALL || !isInt(pcid) || pcid < 0 || pcid > 4095 || !isInt(la) || la < 0 || la >= static_cast<double>(TWO48)) return N(info, EINVAL_);
    cur_->hier->invalidate(static_cast<int>(op), static_cast<uint32_t>(pcid), static_cast<uint64_t>(la));
    return N(info, OK);
  }
  Napi::Value HierDump(const Napi::CallbackInfo& info) {
    live(info);
    const double slot = num(info, 0, "slot");
    size_t n = 0;
    double* out = typed<double>(info.Env(), info[1], napi_float64_array, "out", &n);
    if (!cur_->hier || !isInt(slot)) return N(info, EINVAL_);
    return N(info, static_cast<double>(cur_->hier->dump(static_cast<int>(slot), out, n)));
  }
  // ---- reclaim (native/reclaim.cc): list arguments are checked whole before anything runs
  // The list las[0..count) if it is valid (4 KiB-aligned user addresses), else `bad` (an empty list has no data pointer).
  const double* pageList(const Napi::CallbackInfo& info, size_t i, double count, size_t* n, bool* ok) {
    size_t len;
    const double* las = typed<double>(info.Env(), info[i], napi_float64_array, "las", &len);
    *ok = isInt(count) && count >= 0 && count <= static_cast<double>(len) && Reclaim::listOk(las, static_cast<size_t>(count));
    *n = *ok ? static_cast<size_t>(count) : 0;
    return las;
  }
  Napi::Value PageBits(const Napi::CallbackInfo& info) {
    live(info);
    const double root = num(info, 0, "root"), count = num(info, 2, "count");
    size_t n = 0, outLen = 0, frLen = 0;
    bool ok;
    const double* las = pageList(info, 1, count, &n, &ok);
    uint8_t* out = typed<uint8_t>(info.Env(), info[3], napi_uint8_array, "out", &outLen);
    double* fr = typed<double>(info.Env(), info[4], napi_float64_array, "frames", &frLen);
    if (!ok || !rootOk(root) || outLen < n || frLen < n) return N(info, EINVAL_);
    Reclaim(*pt_, *frames_, *ram_).pageBits(static_cast<uint64_t>(root), las, n, out, fr);
    return N(info, OK);
  }
  Napi::Value ClearAccessedList(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), count = num(info, 2, "count");
    size_t n = 0;
    bool ok;
    const double* las = pageList(info, 1, count, &n, &ok);
    if (!ok || !rootOk(root)) return N(info, EINVAL_);
    return N(info, static_cast<double>(Reclaim(*pt_, *frames_, *ram_).clearAccessed(static_cast<uint64_t>(root), las, n)));
  }
  // (root, las, count, lo, hi): the arguments of swapOutList and writeEntries; false when invalid.
  struct EntryList {
    uint64_t root;
    const double* las;
    size_t n;
    const uint32_t* lo;
    const uint32_t* hi;
  };
  bool entryList(const Napi::CallbackInfo& info, EntryList* e) {
    const double root = num(info, 0, "root"), count = num(info, 2, "count");
    size_t loLen = 0, hiLen = 0;
    bool ok;
    e->las = pageList(info, 1, count, &e->n, &ok);
    e->lo = typed<uint32_t>(info.Env(), info[3], napi_uint32_array, "lo", &loLen);
    e->hi = typed<uint32_t>(info.Env(), info[4], napi_uint32_array, "hi", &hiLen);
    const bool valid = ok && rootOk(root) && loLen >= e->n && hiLen >= e->n;
    e->root = valid ? static_cast<uint64_t>(root) : 0;  // no cast of an unchecked double
    return valid;
  }
  Napi::Value SwapOutList(const Napi::CallbackInfo& info) {
    mut(info);
    EntryList e;
    if (!entryList(info, &e)) return N(info, EINVAL_);
    return N(info, static_cast<double>(Reclaim(*pt_, *frames_, *ram_).swapOut(e.root, e.las, e.n, e.lo, e.hi)));
  }
  Napi::Value ReadEntry(const Napi::CallbackInfo& info) {
    live(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la");
    if (!rootOk(root) || !Reclaim::listOk(&la, 1)) return N(info, EINVAL_);
    uint64_t e = 0;
    const int st = Reclaim(*pt_, *frames_, *ram_).readEntry(static_cast<uint64_t>(root), static_cast<uint64_t>(la), &e);
    if (st == OK) {
      result_[R_B] = static_cast<double>(static_cast<uint32_t>(e));
      result_[R_C] = static_cast<double>(static_cast<uint32_t>(e >> 32));
    }
    return N(info, st);
  }
  Napi::Value WriteEntries(const Napi::CallbackInfo& info) {
    mut(info);
    EntryList e;
    if (!entryList(info, &e)) return N(info, EINVAL_);
    return N(info, static_cast<double>(Reclaim(*pt_, *frames_, *ram_).writeEntries(e.root, e.las, e.n, e.lo, e.hi)));
  }
  Napi::Value SwapIn(const Napi::CallbackInfo& info) {
    mut(info);
    const double root = num(info, 0, "root"), la = num(info, 1, "la"), pfn = num(info, 2, "pfn");
    const uint64_t a = attrs(num(info, 3, "attrLo")) | (attrs(num(info, 4, "attrHi")) << 32);
    const double offset = num(info, 6, "offset");
    const uint8_t* bytes = nullptr;
    if (!info[5].IsNull()) {
      size_t len;
      bytes = typed<uint8_t>(info.Env(), info[5], napi_uint8_array, "bytes", &len);
      if (!isInt(offset) || offset < 0 || offset + 4096 > static_cast<double>(len)) return N(info, EINVAL_);
      bytes += static_cast<size_t>(offset);
    }
    if (!rootOk(root) || !Reclaim::listOk(&la, 1) || !isInt(pfn) || pfn < -1) return N(info, EINVAL_);
    return N(info, static_cast<double>(Reclaim(*pt_, *frames_, *ram_).swapIn(static_cast<uint64_t>(root), static_cast<uint64_t>(la), pfn, a, bytes)));
  }
  Napi::Value CopyFramesOut(const Napi::CallbackInfo& info) {
    mut(info);
    size_t nf, nd, nz;
    const double* frames = typed<double>(info.Env(), info[0], napi_float64_array, "frames", &nf);
    const double start = num(info, 1, "start"), count = num(info, 2, "count"), off = num(info, 4, "dstOffset");
    uint8_t* dst = typed<uint8_t>(info.Env(), info[3], napi_uint8_array, "dst", &nd);
    uint8_t* zero = typed<uint8_t>(info.Env(), info[5], napi_uint8_array, "zero", &nz);
    if (!isInt(start) || !isInt(count) || !isInt(off) || start < 0 || count < 0 || off < 0) return N(info, EINVAL_);
    if (start + count > static_cast<double>(nf) || start + count > static_cast<double>(nz) || off + count * 4096 > static_cast<double>(nd)) return N(info, EINVAL_);
    if (count == 0) return N(info, OK);
    const size_t s = static_cast<size_t>(start);
    return N(info, Reclaim(*pt_, *frames_, *ram_).copyFramesOut(frames + s, static_cast<size_t>(count), dst + static_cast<size_t>(off), zero + s));
  }
  Napi::Value InvalidateList(const Napi::CallbackInfo& info) {
    mut(info);
    const double pcid = num(info, 0, "pcid"), count = num(info, 2, "count");
    size_t n = 0;
    bool ok;
    const double* las = pageList(info, 1, count, &n, &ok);
    if (!ok || !isInt(pcid) || pcid < 0 || pcid > 4096) throw Napi::RangeError::New(info.Env(), "invalidateList: bad pcid, las or count");
    for (size_t k = 0; k < n; k++) cur_->tlb.invalidateAddress(static_cast<uint64_t>(las[k]), static_cast<uint32_t>(pcid));
    // As Invalidate: an INVLPG reaches every TLB structure, the hierarchy's too.
    if (cur_->hier)
      for (size_t k = 0; k < n; k++) cur_->hier->invalidate(HOP_INVLPG, static_cast<uint32_t>(pcid), static_cast<uint64_t>(las[k]));
    cur_->counters[C_INVLPG] += static_cast<double>(n);
    return info.Env().Undefined();
  }
  // The CPU the CPU-level calls act on (setCr3, invalidate, flushes, accesses, batches, the hierarchy).
  Napi::Value SelectCpu(const Napi::CallbackInfo& info) {
    live(info);
    const double i = num(info, 0, "cpu");
    if (!isInt(i) || i < 0 || i >= static_cast<double>(cpus_.size())) throw Napi::RangeError::New(info.Env(), "selectCpu: no such CPU");
    cur_ = cpus_[static_cast<size_t>(i)].get();
    pt_->setCounters(cur_->counters);
    return info.Env().Undefined();
  }
  // TLB maintenance on any CPUs in one call (core.ts tlbOps): checked whole first, then run in order.
  Napi::Value TlbOps(const Napi::CallbackInfo& info) {
    live(info);
    size_t n = 0;
    const double* ops = typed<double>(info.Env(), info[0], napi_float64_array, "ops", &n);
    const double count = num(info, 1, "count");
    if (!isInt(count) || count < 0 || count * TLB_OP_FIELDS > static_cast<double>(n)) return N(info, EINVAL_);
    const size_t m = static_cast<size_t>(count);
    const double ncpu = static_cast<double>(cpus_.size());
    for (size_t i = 0; i < m; i++) {
      const double* o = ops + i * TLB_OP_FIELDS;
      const double op = o[0], cpu = o[1], a = o[2], b = o[3], c = o[4], d = o[5];
      if (!isInt(cpu) || cpu < 0 || cpu >= ncpu) return N(info, EINVAL_);
      bool ok = false;
      if (op == TLB_OP_INVLPG)
        ok = isInt(a) && a >= 0 && a <= 4096 && isInt(b) && b >= 0 && b < static_cast<double>(TWO48) && isInt(c) && c >= 0 && c <= 1e9 && (d == 12 || d == 21 || d == 30) &&
             (static_cast<uint64_t>(b) & ((1ull << static_cast<int>(d)) - 1)) == 0 && b + c * std::ldexp(1.0, static_cast<int>(d)) <= static_cast<double>(TWO48);
      else if (op == TLB_OP_FLUSH_PCID) ok = isInt(a) && a >= 0 && a <= 4095;
      else if (op == TLB_OP_FLUSH_ALL) ok = a == 0 || a == 1;
      else if (op == TLB_OP_LOAD_CR3) ok = rootOk(a) && isInt(b) && b >= 0 && b <= 4095 && (c == 0 || c == 1);
      if (!ok) return N(info, EINVAL_);
    }
    for (size_t i = 0; i < m; i++) {
      const double* o = ops + i * TLB_OP_FIELDS;
      CpuCtx& c = *cpus_[static_cast<size_t>(o[1])];
      switch (static_cast<int>(o[0])) {
        case TLB_OP_INVLPG: invlpgOn(c, static_cast<uint32_t>(o[2]), static_cast<uint64_t>(o[3]), static_cast<uint64_t>(o[4]), static_cast<uint32_t>(o[5])); break;
        case TLB_OP_FLUSH_PCID: flushPcidOn(c, static_cast<uint32_t>(o[2])); break;
        case TLB_OP_FLUSH_ALL: flushAllOn(c, o[2] == 1); break;
        default: setCr3On(c, pcide_, static_cast<int64_t>(o[2]), static_cast<uint32_t>(o[3]), o[4] == 1); break;
      }
    }
    return N(info, OK);
  }
  // The core's state for a snapshot: { refs, used, ram, selected, cpus: [{ root, tag, pending }] }
  // (the TLB arrays and counters are the caller's; hierarchy arrays: hierDump). RAM is frozen as
  // an image (Ram::capture) and goes on copy-on-write.
  Napi::Value Capture(const Napi::CallbackInfo& info) {
    live(info);
    Napi::Env env = info.Env();
    const uint64_t total = frames_->total(), words = frames_->words();
    auto img = ram_->capture(frames_->usedWords(), total);
    if (!img) throwErrno(env, "ENOMEM", "could not freeze simulated RAM for a snapshot (host memory or file error)");
    Napi::Object o = Napi::Object::New(env);
    Napi::Uint32Array refs = Napi::Uint32Array::New(env, total);
    for (uint64_t f = 0; f < total; f++) refs[f] = frames_->count(f);
    Napi::Uint32Array used = Napi::Uint32Array::New(env, words * 2);
    std::memcpy(used.Data(), frames_->usedWords(), words * 8);
    o.Set("refs", refs);
    o.Set("used", used);
    o.Set("ram", imageValue(env, img));
    uint32_t sel = 0;
    Napi::Array cl = Napi::Array::New(env, cpus_.size());
    for (uint32_t i = 0; i < cpus_.size(); i++) {
      if (cpus_[i].get() == cur_) sel = i;
      Napi::Object c = Napi::Object::New(env);
      c.Set("root", Napi::Number::New(env, static_cast<double>(cpus_[i]->cpu->root())));
      c.Set("tag", Napi::Number::New(env, cpus_[i]->cpu->tag()));
      c.Set("pending", Napi::Number::New(env, cpus_[i]->hier ? cpus_[i]->hier->pending() : 0));
      cl.Set(i, c);
    }
    o.Set("cpus", cl);
    o.Set("selected", Napi::Number::New(env, sel));
    return o;
  }
  // hierRestore(dumps, pending): the selected CPU's hierarchy arrays (hierDump's layout per slot, null for an absent one) and pending touch.
  Napi::Value HierRestore(const Napi::CallbackInfo& info) {
    live(info);
    Napi::Env env = info.Env();
    if (!cur_->hier) return N(info, EINVAL_);
    if (info.Length() < 2 || !info[0].IsArray()) throw Napi::TypeError::New(env, "dumps must be an array");
    Napi::Array d = info[0].As<Napi::Array>();
    const double pending = num(info, 1, "pending");
    if (d.Length() != static_cast<uint32_t>(H_SLOTS) || !isInt(pending) || pending < 0 || pending > 255) return N(info, EINVAL_);
    for (uint32_t s = 0; s < d.Length(); s++) {
      Napi::Value v = d.Get(s);
      if (v.IsNull() || v.IsUndefined()) continue;
      size_t n = 0;
      const double* a = typed<double>(env, v, napi_float64_array, "dumps[i]", &n);
      if (!cur_->hier->load(static_cast<int>(s), a, n)) return N(info, EINVAL_);
    }
    cur_->hier->setPending(static_cast<uint32_t>(pending));
    return N(info, OK);
  }
  static Napi::Value imageValue(Napi::Env env, const std::shared_ptr<RamImage>& img) {
    return Napi::External<std::shared_ptr<RamImage>>::New(env, new std::shared_ptr<RamImage>(img), [](Napi::Env, std::shared_ptr<RamImage>* p) { delete p; });
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release();
    sweep(info.Env(), ref_->table);  // this core's RAM too, when no view of it is left
    return info.Env().Undefined();
  }

  // Frees everything but RAM (which views may still show): after dispose(), or once the JS object was collected.
  void release() {
    cur_ = nullptr;
    cpus_.clear();
    pt_.reset();
    frames_.reset();
    refs_.Reset();
    released_ = true;
  }
  // Unmaps RAM when no view of it is alive (none can reach it); true when nothing is left to free.
  bool tryUnmap(napi_env env) {
    if (!ram_) return true;
    for (auto& c : chunks_)
      if (!c.IsEmpty() && !c.Value().IsEmpty()) return false;
    for (auto& [i, w] : windows_)
      if (!w.Value().IsEmpty()) return false;
    std::vector<Napi::Reference<Napi::Uint8Array>>().swap(chunks_);  // the capacity too: the object may wait long for its finalizer
    std::unordered_map<uint64_t, Napi::Reference<Napi::Uint8Array>>().swap(windows_);
    ram_->release();  // the views' deferred finalizers only drop their shares later
    ram_.reset();
    int64_t total;
    napi_adjust_external_memory(env, -reported_, &total);
    reported_ = 0;
    return true;
  }
  // A collected core: free it now (its finalizer runs only when the event loop turns). True when done.
  bool sweepOne(napi_env env) {
    if (!released_ && self_.Value().IsEmpty()) release();
    return released_ && tryUnmap(env);
  }

  ~NativeCore() {
    if (reported_ != 0 && env_) {
      int64_t total;
      napi_adjust_external_memory(env_, -reported_, &total);
    }
  }

  std::vector<std::unique_ptr<CpuCtx>> cpus_;
  CpuCtx* cur_ = nullptr;  // the selected CPU
  double* result_ = nullptr;
  Napi::Reference<Napi::Array> refs_;
  std::shared_ptr<Ram> ram_;
  std::unique_ptr<Frames> frames_;
  std::unique_ptr<PageTables> pt_;
  bool pcide_ = false;
  std::vector<Napi::Reference<Napi::Uint8Array>> chunks_;
  std::unordered_map<uint64_t, Napi::Reference<Napi::Uint8Array>> windows_;
  napi_env env_ = nullptr;
  Napi::Reference<Napi::Object> self_;  // weak: empty once the core's object is collected
  bool released_ = false;
  uint64_t accounted_ = 0;  // touched frames at the last account()
  int64_t reported_ = 0;    // bytes told to napi_adjust_external_memory
  CoreRef* ref_ = nullptr;  // its table and slot
};

// Gives a collected core's slot back (its functions wait for the next core) and deletes the core.
void retire(NativeCore* c) {
  CoreRef* ref = c->ref_;
  ref->slot->core = nullptr;
  ref->table->free.push_back(ref->slot);
  ref->core = nullptr;
  delete c;
}

// Frees every collected core of the thread whose resources can go (see CoreTable).
void sweep(napi_env env, CoreTable* t) {
  for (Slot* s : t->slots) {
    NativeCore* c = s->core;
    if (!c || !c->sweepOne(env)) continue;
    if (!c->self_.Value().IsEmpty()) continue;  // disposed but still referenced: its object keeps the slot
    retire(c);  // its finalizer (later) finds no core and only lets go of the table
  }
}

// The finalizer of a core's JS object (Node runs it once the event loop turns): frees the core unless a sweep did.
void finalizeCore(Napi::Env env, CoreRef* ref) {
  if (NativeCore* c = ref->core) {
    c->release();
    c->tryUnmap(env);  // else the views still alive keep RAM mapped until they go
    retire(c);
  }
  unrefTable(ref->table);
  delete ref;
}

// Each method is a plain function whose data pointer is its slot, which names the core: a call
// costs no napi_unwrap (which, with ObjectWrap, was a large share of a short call).
template <Napi::Value (NativeCore::*M)(const Napi::CallbackInfo&)>
Napi::Value Call(const Napi::CallbackInfo& info) {
  NativeCore* c = static_cast<Slot*>(info.Data())->core;
  if (!c) throw Napi::Error::New(info.Env(), "the core has been disposed");
  return (c->*M)(info);
}

// A slot's functions, by the Core interface's names.
Napi::Object Methods(Napi::Env env, Slot* s) {
  Napi::Object m = Napi::Object::New(env);
#define VMSIM_METHOD(js, cc) m.Set(js, Napi::Function::New<Call<&NativeCore::cc>>(env, js, s))
  VMSIM_METHOD("ramChunk", RamChunk);
  VMSIM_METHOD("ramWindow", RamWindow);
  VMSIM_METHOD("freeFrames", FreeFrames);
  VMSIM_METHOD("allocFrame", AllocFrame);
  VMSIM_METHOD("allocFrames", AllocFrames);
  VMSIM_METHOD("allocFrameList", AllocFrameList);
  VMSIM_METHOD("mapList", MapList);
  VMSIM_METHOD("refFrame", RefFrame);
  VMSIM_METHOD("unrefFrame", UnrefFrame);
  VMSIM_METHOD("refCount", RefCount);
  VMSIM_METHOD("refCountList", RefCountList);
  VMSIM_METHOD("unrefFrameList", UnrefFrameList);
  VMSIM_METHOD("copyFrame", CopyFrame);
  VMSIM_METHOD("noteWritten", NoteWritten);
  VMSIM_METHOD("createRoot", CreateRoot);
  VMSIM_METHOD("destroyRoot", DestroyRoot);
  VMSIM_METHOD("map", Map);
  VMSIM_METHOD("unmap", Unmap);
  VMSIM_METHOD("protect", Protect);
  VMSIM_METHOD("translate", Translate);
  VMSIM_METHOD("fork", Fork);
  VMSIM_METHOD("setCr3", SetCr3);
  VMSIM_METHOD("invalidate", Invalidate);
  VMSIM_METHOD("flushPcid", FlushPcid);
  VMSIM_METHOD("flushAll", FlushAll);
  VMSIM_METHOD("access", Access);
  VMSIM_METHOD("accessBatch", AccessBatch);
  VMSIM_METHOD("scanAccessed", ScanAccessed);
  VMSIM_METHOD("cowBreak", CowBreak);
  VMSIM_METHOD("moveRange", MoveRange);
  VMSIM_METHOD("countFrames", CountFrames);
  VMSIM_METHOD("traceBatch", TraceBatch);
  VMSIM_METHOD("copyVirt", CopyVirt);
  VMSIM_METHOD("hierarchy", HierarchySet);
  VMSIM_METHOD("hierTraceBatch", HierTraceBatch);
  VMSIM_METHOD("hierInvalidate", HierInvalidate);
  VMSIM_METHOD("hierDump", HierDump);
  VMSIM_METHOD("pageBits", PageBits);
  VMSIM_METHOD("clearAccessedList", ClearAccessedList);
  VMSIM_METHOD("swapOutList", SwapOutList);
  VMSIM_METHOD("readEntry", ReadEntry);
  VMSIM_METHOD("writeEntries", WriteEntries);
  VMSIM_METHOD("swapIn", SwapIn);
  VMSIM_METHOD("copyFramesOut", CopyFramesOut);
  VMSIM_METHOD("invalidateList", InvalidateList);
  VMSIM_METHOD("selectCpu", SelectCpu);
  VMSIM_METHOD("tlbOps", TlbOps);
  VMSIM_METHOD("capture", Capture);
  VMSIM_METHOD("hierRestore", HierRestore);
  VMSIM_METHOD("dispose", Dispose);
#undef VMSIM_METHOD
  return m;
}

// createCore(memoryBytes, features, tlb, counters, result, eager): the core's object, its
// methods from a free slot (or a new one).
Napi::Value CreateCore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CoreTable* t = static_cast<CoreTable*>(info.Data());
  sweep(env, t);  // machines collected since the last call give their memory, reservation and slot back first
  Napi::Object self = Napi::Object::New(env);
  auto* core = new NativeCore(info, self);
  Slot* s;
  if (!t->free.empty()) {
    s = t->free.back();
    t->free.pop_back();
  } else {
    s = new Slot();
    t->slots.push_back(s);
    s->methods = Napi::Persistent(Methods(env, s));
  }
  s->core = core;
  core->ref_ = new CoreRef{t, s, core};
  t->refs++;
  self.AddFinalizer(finalizeCore, core->ref_);
  Napi::Object m = s->methods.Value();
  Napi::Array names = m.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Value k = names.Get(i);
    self.Set(k, m.Get(k));
  }
  return self;
}

}  // namespace

// The numbers of constants.h, by their names in src/core/constants.ts (test/core/constants.test.ts compares them).
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  const std::pair<const char*, double> all[] = {
      {"PTE.P", P}, {"PTE.RW", RW}, {"PTE.US", US}, {"PTE.PWT", PWT}, {"PTE.PCD", PCD}, {"PTE.A", A}, {"PTE.D", D}, {"PTE.PS", PS}, {"PTE.G", G},
      {"PTE.SW_COW", SW_COW}, {"PTE.SW_SHARED", SW_SHARED}, {"PTE.PAT_LARGE", PAT_LARGE}, {"PTE_HI.NX", static_cast<double>(NX >> 32)},
      {"ADDR_MASK", static_cast<double>(ADDR_MASK)}, {"ATTR_LO", ATTR_LO}, {"INTER_USER", INTER_USER}, {"INTER_KERNEL", INTER_KERNEL},
      {"Status.OK", OK}, {"Status.ENOENT", ENOENT_}, {"Status.ENOMEM", ENOMEM_}, {"Status.EFAULT", EFAULT_}, {"Status.EEXIST", EEXIST_}, {"Status.EINVAL", EINVAL_},
      {"Feature.NXE", F_NXE}, {"Feature.SMEP", F_SMEP}, {"Feature.SMAP", F_SMAP}, {"Feature.PCIDE", F_PCIDE}, {"Feature.WP", F_WP},
      {"PFEC.P", PF_P}, {"PFEC.W", PF_W}, {"PFEC.U", PF_U}, {"PFEC.RSVD", PF_RSVD}, {"PFEC.I", PF_I},
      {"Counter.HITS", C_HITS}, {"Counter.MISSES", C_MISSES}, {"Counter.WALKS", C_WALKS}, {"Counter.FLUSHES", C_FLUSHES}, {"Counter.INVLPG", C_INVLPG},
      {"Counter.EVICTIONS", C_EVICTIONS}, {"Counter.FAULTS", C_FAULTS}, {"Counter.READS", C_READS}, {"Counter.WRITES", C_WRITES}, {"Counter.EXECUTES", C_EXECUTES},
      {"Counter.BAD_ENTRIES", C_BAD_ENTRIES}, {"Counter.LENGTH", C_LENGTH},
      {"Result.A", R_A}, {"Result.B", R_B}, {"Result.C", R_C}, {"Result.D", R_D}, {"Result.E", R_E}, {"Result.F", R_F}, {"Result.G", R_G}, {"Result.H", R_H},
      {"Result.LENGTH", R_LENGTH},
      {"TlbOp.INVLPG", TLB_OP_INVLPG}, {"TlbOp.FLUSH_PCID", TLB_OP_FLUSH_PCID}, {"TlbOp.FLUSH_ALL", TLB_OP_FLUSH_ALL}, {"TlbOp.LOAD_CR3", TLB_OP_LOAD_CR3}, {"TlbOp.FIELDS", TLB_OP_FIELDS},
      {"TlbFlag.VALID", T_VALID}, {"TlbFlag.WRITABLE", T_WRITABLE}, {"TlbFlag.USER", T_USER}, {"TlbFlag.NX", T_NX}, {"TlbFlag.DIRTY", T_DIRTY}, {"TlbFlag.GLOBAL", T_GLOBAL},
      {"GLOBAL_TAG", GLOBAL_TAG}, {"PAGE_SHIFT", PAGE_SHIFT}, {"PAGE_SIZE", PAGE_SIZE}, {"TWO47", static_cast<double>(TWO47)}, {"TWO48", static_cast<double>(TWO48)},
      {"CHUNK_BYTES", static_cast<double>(CHUNK_BYTES)},
      {"TraceRecord.ADDR_HI_MASK", REC_ADDR_HI_MASK}, {"TraceRecord.KIND_SHIFT", REC_KIND_SHIFT}, {"TraceRecord.KIND_MASK", REC_KIND_MASK},
      {"TraceRecord.SIZE_SHIFT", REC_SIZE_SHIFT}, {"TraceRecord.SIZE_MASK", REC_SIZE_MASK}, {"TraceRecord.RESERVED_SHIFT", REC_RESERVED_SHIFT},
  };
  for (const auto& [name, v] : all) c.Set(name, Napi::Number::New(env, v));
  return c;
}

// lackeyScan(buf, pos, end, words, count, cap): lackey_scan.h's ScanLackey over typed arrays;
// returns the position it stopped at and sets words' count in out[0]. Bounds are checked here.
Napi::Value LackeyScanFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsTypedArray() || !info[3].IsTypedArray() || !info[6].IsTypedArray()) {
    Napi::TypeError::New(env, "lackeyScan(buf, pos, end, words, count, cap, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Uint8Array>();
  auto words = info[3].As<Napi::Uint32Array>();
  auto out = info[6].As<Napi::Float64Array>();
  const double pos = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  const double count = info[4].As<Napi::Number>().DoubleValue();
  const double cap = info[5].As<Napi::Number>().DoubleValue();
  if (!(pos >= 0 && pos <= end && end <= buf.ElementLength() && (end == pos || buf[static_cast<size_t>(end) - 1] == '\n') && count >= 0 && count <= cap &&
        cap * 2 <= words.ElementLength() && out.ElementLength() >= 1)) {
    Napi::RangeError::New(env, "lackeyScan: bad bounds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  LackeyScan r = ScanLackey(buf.Data(), static_cast<size_t>(pos), static_cast<size_t>(end), words.Data(), static_cast<uint32_t>(count), static_cast<uint32_t>(cap));
  out[0] = r.count;
  return Napi::Number::New(env, static_cast<double>(r.pos));
}

// flock(fd, lock): an exclusive, non-blocking advisory lock on an open file (lock = true), or its
// release. The kernel holds it for the open file description and drops it when the process dies,
// so a swap file in use by a machine in any process is refused (swapon's EBUSY). Returns "" on
// success, else the errno's name ("EWOULDBLOCK" when another description holds the lock).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  const double fd = num(info, 0, "fd");
  const bool lock = flag(info, 1, "lock");
  if (!isInt(fd) || fd < 0 || fd > INT_MAX) throw Napi::RangeError::New(info.Env(), "fd must be a file descriptor");
  int r;
  do r = ::flock(static_cast<int>(fd), lock ? (LOCK_EX | LOCK_NB) : LOCK_UN);
  while (r != 0 && errno == EINTR);
  if (r == 0) return Napi::String::New(info.Env(), "");
  const int e = errno;
  const char* name = e == EWOULDBLOCK ? "EWOULDBLOCK" : e == EBADF ? "EBADF" : e == ENOLCK ? "ENOLCK" : e == EINVAL ? "EINVAL" : "EIO";
  return Napi::String::New(info.Env(), name);
}

// ramImageRead(image, pfn, count, out): frames [pfn, pfn + count) of a snapshot's RAM image into out; ramImageRelease(image) lets it go now.
std::shared_ptr<RamImage>* imageOf(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "image must be a RAM image");
  return info[0].As<Napi::External<std::shared_ptr<RamImage>>>().Data();
}
Napi::Value RamImageRead(const Napi::CallbackInfo& info) {
  std::shared_ptr<RamImage>* img = imageOf(info);
  if (!*img) throw Napi::Error::New(info.Env(), "the snapshot has been released");
  const double pfn = num(info, 1, "pfn"), count = num(info, 2, "count");
  size_t n = 0;
  uint8_t* out = typed<uint8_t>(info.Env(), info[3], napi_uint8_array, "out", &n);
  const double frames = static_cast<double>((*img)->bytes / 4096);
  if (!isInt(pfn) || !isInt(count) || pfn < 0 || count < 0 || pfn + count > frames || count * 4096 > static_cast<double>(n)) throw Napi::RangeError::New(info.Env(), "frames out of range");
  if (!(*img)->read(static_cast<uint64_t>(pfn), static_cast<uint64_t>(count), out)) throwErrno(info.Env(), "EIO", "could not read the snapshot's RAM image");
  return info.Env().Undefined();
}
Napi::Value RamImageRelease(const Napi::CallbackInfo& info) {
  imageOf(info)->reset();
  return info.Env().Undefined();
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  // This thread's cores (deleted when the env goes and the last core's finalizer has run).
  auto* table = new CoreTable();
  env.SetInstanceData<CoreTable, finalizeTable>(table);
  exports.Set("createCore", Napi::Function::New<CreateCore>(env, "createCore", table));
  exports.Set("flock", Napi::Function::New<Flock>(env, "flock"));
  exports.Set("lackeyScan", Napi::Function::New<LackeyScanFn>(env, "lackeyScan"));
  exports.Set("ramImageRead", Napi::Function::New<RamImageRead>(env, "ramImageRead"));
  exports.Set("ramImageRelease", Napi::Function::New<RamImageRelease>(env, "ramImageRelease"));
  exports.Set("constants", Constants(env));
  return exports;
}

NODE_API_MODULE(vmsim_native, InitAll)
