#include "trace.h"

#include <cmath>

namespace vp {

uint64_t Trace::ps_of(const sc_core::sc_time &t) {
    return static_cast<uint64_t>(std::llround(t.to_seconds() * 1e12));
}

bool Trace::set_filter(const std::string &spec, std::string *error) {
    std::vector<Term> terms;
    bool include = false;
    size_t start = 0;
    while (start <= spec.size()) {
        size_t comma = spec.find(',', start);
        std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? spec.size() + 1 : comma + 1;
        while (!item.empty() && item.front() == ' ')
            item.erase(0, 1);
        while (!item.empty() && item.back() == ' ')
            item.pop_back();
        if (item.empty()) {
            if (spec.empty())
                break;
            if (error)
                *error = "empty term in trace filter '" + spec + "'";
            return false;
        }
        Term term{item[0] == '-', "", "*"};
        if (term.exclude)
            item.erase(0, 1);
        // '/' and not ':' separates the kind: component names contain ':' (a PCIe BDF, pcie.00:02.0).
        size_t slash = item.find('/');
        term.component = item.substr(0, slash);
        if (slash != std::string::npos)
            term.kind = item.substr(slash + 1);
        if (term.component.empty() || term.kind.empty()) {
            if (error)
                *error = "trace filter term '" + item + "' needs COMPONENT or COMPONENT/KIND";
            return false;
        }
        include = include || !term.exclude;
        terms.push_back(term);
    }
    terms_ = std::move(terms);
    has_include_ = include;
    return true;
}

bool Trace::matches(const Term &term, std::string_view component, std::string_view kind) {
    if (term.kind != "*" && term.kind != kind)
        return false;
    if (term.component == "*")
        return true;
    if (component.substr(0, term.component.size()) != term.component)
        return false;
    return component.size() == term.component.size() || component[term.component.size()] == '.';
}

bool Trace::wants(std::string_view component, std::string_view kind) const {
    if (!os_)
        return false;
    bool included = !has_include_;
    for (const Term &term : terms_) {
        if (!matches(term, component, kind))
            continue;
        if (term.exclude)
            return false;
        included = true;
    }
    return included;
}

void Trace::line(const sc_core::sc_time &when, std::string_view component, std::string_view kind,
                 std::string_view fields) {
    line_ps(ps_of(when), component, kind, fields);
}

void Trace::line_ps(uint64_t when_ps, std::string_view component, std::string_view kind,
                    std::string_view fields) {
    if (!wants(component, kind))
        return;
    std::string text = std::to_string(when_ps);
    text.append(" ps ").append(component).append(": ").append(kind);
    if (!fields.empty())
        text.append(" ").append(fields);
    text += '\n';
    if (!ordered_) {
        *os_ << text;
        return;
    }
    held_.emplace(std::make_pair(when_ps, made_++), std::move(text));
    write_due(ps_of(sc_core::sc_time_stamp()));
}

void Trace::write_due(uint64_t before_ps) {
    auto it = held_.begin();
    for (; it != held_.end() && it->first.first < before_ps; ++it)
        *os_ << it->second;
    held_.erase(held_.begin(), it);
}

void Trace::flush() {
    if (os_)
        write_due(UINT64_MAX);
    held_.clear();
}

} // namespace vp
