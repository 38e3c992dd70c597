// vp::TxnAttr: the one TLM extension that carries the identity of a DMA transaction and its PCIe attributes
// between requesters (DMA master, PCIe endpoints and root complex) and the SMMU. The SMMU also writes its
// answer to an ATS Translation Request back into it, and the PCIe models use the same extension for PRI page
// requests, PRG responses and ATS invalidations, so no second extension is ever needed on this path.
#ifndef VP_TXN_ATTR_H
#define VP_TXN_ATTR_H

#include <cstdint>

#include <tlm>

namespace vp {

// PCIe Address Type (TLP AT field) of a memory request.
enum class PcieAt : uint8_t {
    Untranslated = 0, // ordinary DMA: the SMMU translates it
    TranslationRequest =
        1,          // ATS Translation Request: the SMMU answers in TxnAttr::ats, nothing goes downstream
    Translated = 2, // the address came from an ATC: the SMMU passes it (subject to STE.EATS / CR0.ATSCHK)
};

enum class SecurityState : uint8_t { NonSecure = 0, Secure = 1 };

// What the payload represents. Memory is the only kind the SMMU translates; the others are PCIe messages that
// travel through the root complex and use the payload address / data as the message says.
enum class TxnKind : uint8_t {
    Memory = 0,
    // PRI Page Request: payload address = page; read, write, last, prg_index, and exec/priv with a PASID.
    // A PASID Stop Marker is one too: last = 1, read = write = 0, ssv = 1 (substream_id names the PASID);
    // the same bits without a PASID are an ordinary request, as on the wire.
    PageRequest,
    PrgResponse,            // PRG Response toward the endpoint: prg_index and prg_response
    AtsInvalidationRequest, // toward the endpoint: payload address = range base, inv_size, itag, inv_global
    AtsInvalidationCompletion, // from the endpoint: itag_vector and completion_count
    // Between the root complex and an endpoint only (the SMMU never sees these):
    // Configuration Request to the function at the other end of the link: payload address = register offset
    // (0..0xFFF), read or write of 1, 2 or 4 bytes. An error response means Unsupported Request.
    ConfigRequest,
    // Assert_INTx / Deassert_INTx messages from an endpoint: intx_pin names the virtual wire (the function's
    // Interrupt Pin); the root complex applies the swizzle to its INTA..INTD outputs.
    IntxAssert,
    IntxDeassert,
};

// PCIe completion status of an ATS Translation Completion (the TLP encoding).
enum class AtsCompletionStatus : uint8_t {
    Success = 0,            // SC
    UnsupportedRequest = 1, // UR: ATS not enabled for the stream (F_BAD_ATS_TREQ) or a configuration error
    CompleterAbort = 4,     // CA: the SMMU could not complete the request (e.g. an external abort on a walk)
};

// The translation returned for an ATS Translation Request (one translation entry of the completion).
struct AtsCompletion {
    AtsCompletionStatus status = AtsCompletionStatus::Success;
    uint64_t translated_addr = 0; // output address of the first byte of the range (range-aligned)
    uint64_t size = 0;            // bytes covered by the entry, a power of two >= 4096
    bool read = false;            // R and W both 0 with status Success: the access is not allowed (fault)
    bool write = false;
    bool exec = false;              // Execute permitted (needs exec requested)
    bool priv = false;              // Privileged Mode Access applies
    bool global = false;            // Global mapping: valid for every PASID of the function
    bool untranslated_only = false; // U: the range must be accessed with untranslated requests
    bool non_snooped = false;       // N
};

// PRG Response codes (PCIe PRI).
enum class PrgResponseCode : uint8_t { Success = 0, InvalidRequest = 1, ResponseFailure = 0xF };

class TxnAttr : public tlm::tlm_extension<TxnAttr> {
  public:
    // Identity, as the SMMU sees it.
    uint32_t stream_id = 0;
    uint32_t substream_id = 0; // PASID; meaningful only with ssv
    bool ssv = false;          // SubstreamID valid (PASID TLP prefix present)
    bool exec = false;         // InD: instruction fetch (reads only)
    bool priv = false;         // PnU: privileged
    SecurityState security = SecurityState::NonSecure;

    // PCIe attributes.
    TxnKind kind = TxnKind::Memory;
    PcieAt at = PcieAt::Untranslated;
    bool no_write = false;     // ATS Translation Request NW: read-only translation wanted
    uint16_t requester_id = 0; // PCIe RID (bus:device.function); the root complex maps it to stream_id

    // Answer to a Translation Request, written by the SMMU (ats_valid says it was).
    bool ats_valid = false;
    AtsCompletion ats;

    // PRI page requests and PRG responses.
    uint16_t prg_index = 0; // Page Request Group Index, 9 bits
    bool last = false;      // page request: last request of its group (L)
    bool read = false;      // page request: read access requested (R)
    bool write = false;     // page request: write access requested (W)
    PrgResponseCode prg_response = PrgResponseCode::Success;

    // ATS invalidation requests and completions.
    uint64_t inv_size = 0;    // bytes of the range to invalidate (power of two >= 4096)
    bool inv_global = false;  // invalidate global mappings of every PASID too
    uint8_t itag = 0;         // 0..31
    uint32_t itag_vector = 0; // completion: bit n = ITag n completed
    uint8_t completion_count = 0;

    // INTx messages: 0..3 = INTA..INTD (the Interrupt Pin register's value minus 1).
    uint8_t intx_pin = 0;

    TxnAttr() = default;
    TxnAttr(uint32_t sid, uint32_t ssid, bool ssid_valid)
        : stream_id(sid), substream_id(ssid), ssv(ssid_valid) {}

    tlm::tlm_extension_base *clone() const override { return new TxnAttr(*this); }
    void copy_from(const tlm::tlm_extension_base &other) override {
        *this = static_cast<const TxnAttr &>(other);
    }

    // The extension of a payload, or nullptr.
    static TxnAttr *of(const tlm::tlm_generic_payload &gp) { return gp.get_extension<TxnAttr>(); }
};

} // namespace vp

#endif
