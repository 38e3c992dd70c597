/* printf family on top of one formatter that feeds characters to a sink (the UART or a buffer). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fw/uart.h>

struct output_sink {
    void (*emit)(struct output_sink *sink, char c);
    char *buffer;    /* snprintf: destination */
    size_t capacity; /* snprintf: bytes available, including the final NUL */
    size_t written;  /* characters produced so far, stored or not */
};

struct conversion_spec {
    bool left_justify;
    bool zero_pad;
    bool plus_sign;
    bool space_sign;
    bool alternate_form;
    int width;
    int precision; /* -1: none given */
};

enum length_modifier {
    LENGTH_DEFAULT,
    LENGTH_CHAR,
    LENGTH_SHORT,
    LENGTH_LONG,
    LENGTH_LONG_LONG,
    LENGTH_SIZE
};

static void emit_char(struct output_sink *sink, char c) {
    sink->emit(sink, c);
    sink->written++;
}

static void emit_repeated(struct output_sink *sink, char c, int count) {
    for (; count > 0; count--)
        emit_char(sink, c);
}

/* Writes prefix (sign, 0x) + leading zeros + digits, padded to the width. */
static void emit_padded(struct output_sink *sink, const struct conversion_spec *spec, const char *prefix,
                        const char *body, int body_length, int leading_zeros) {
    int prefix_length = (int)strlen(prefix);
    int padding = spec->width - prefix_length - leading_zeros - body_length;
    if (padding < 0)
        padding = 0;
    if (!spec->left_justify && !spec->zero_pad)
        emit_repeated(sink, ' ', padding);
    for (const char *p = prefix; *p != '\0'; p++)
        emit_char(sink, *p);
    if (!spec->left_justify && spec->zero_pad)
        emit_repeated(sink, '0', padding);
    emit_repeated(sink, '0', leading_zeros);
    for (int i = 0; i < body_length; i++)
        emit_char(sink, body[i]);
    if (spec->left_justify)
        emit_repeated(sink, ' ', padding);
}

static void format_unsigned(struct output_sink *sink, struct conversion_spec spec, uint64_t value,
                            unsigned base, bool upper_case, const char *sign) {
    const char *digit_chars = upper_case ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[24];
    int length = 0;
    bool is_zero = value == 0;
    /* C: precision 0 with value 0 prints no digits at all. */
    if (!(value == 0 && spec.precision == 0)) {
        do {
            digits[sizeof(digits) - 1 - length++] = digit_chars[value % base];
            value /= base;
        } while (value != 0);
    }
    char prefix[4];
    strcpy(prefix, sign);
    int leading_zeros = spec.precision > length ? spec.precision - length : 0;
    if (spec.alternate_form && base == 16 && !is_zero)
        strcpy(prefix + strlen(prefix), upper_case ? "0X" : "0x");
    if (spec.alternate_form && base == 8 && leading_zeros == 0 &&
        (length == 0 || digits[sizeof(digits) - length] != '0'))
        leading_zeros = 1;
    if (spec.precision >= 0)
        spec.zero_pad = false; /* C: a precision overrides the 0 flag for integers */
    emit_padded(sink, &spec, prefix, digits + sizeof(digits) - length, length, leading_zeros);
}

static void format_signed(struct output_sink *sink, const struct conversion_spec *spec, int64_t value) {
    const char *sign = value < 0 ? "-" : spec->plus_sign ? "+" : spec->space_sign ? " " : "";
    /* Negate in unsigned arithmetic so INT64_MIN works. */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    format_unsigned(sink, *spec, magnitude, 10, false, sign);
}

static void format_string(struct output_sink *sink, struct conversion_spec spec, const char *s) {
    if (s == NULL)
        s = "(null)";
    int length = (int)(spec.precision >= 0 ? strnlen(s, (size_t)spec.precision) : strlen(s));
    spec.zero_pad = false;
    emit_padded(sink, &spec, "", s, length, 0);
}

static int parse_decimal(const char **cursor) {
    int value = 0;
    while (**cursor >= '0' && **cursor <= '9') {
        value = value * 10 + (**cursor - '0');
        (*cursor)++;
    }
    return value;
}

static uint64_t fetch_unsigned(va_list *args, enum length_modifier length) {
    switch (length) {
    case LENGTH_CHAR:
        return (unsigned char)va_arg(*args, unsigned int);
    case LENGTH_SHORT:
        return (unsigned short)va_arg(*args, unsigned int);
    case LENGTH_LONG:
        return va_arg(*args, unsigned long);
    case LENGTH_LONG_LONG:
        return va_arg(*args, unsigned long long);
    case LENGTH_SIZE:
        return va_arg(*args, size_t);
    default:
        return va_arg(*args, unsigned int);
    }
}

static int64_t fetch_signed(va_list *args, enum length_modifier length) {
    switch (length) {
    case LENGTH_CHAR:
        return (signed char)va_arg(*args, int);
    case LENGTH_SHORT:
        return (short)va_arg(*args, int);
    case LENGTH_LONG:
        return va_arg(*args, long);
    case LENGTH_LONG_LONG:
        return va_arg(*args, long long);
    case LENGTH_SIZE:
        return (int64_t)va_arg(*args, size_t); /* %zd: the signed type of size_t's width */
    default:
        return va_arg(*args, int);
    }
}

static void format(struct output_sink *sink, const char *cursor, va_list *args) {
    while (*cursor != '\0') {
        if (*cursor != '%') {
            emit_char(sink, *cursor++);
            continue;
        }
        const char *conversion_start = cursor++;
        struct conversion_spec spec = {.precision = -1};
        for (;; cursor++) {
            if (*cursor == '-')
                spec.left_justify = true;
            else if (*cursor == '0')
                spec.zero_pad = true;
            else if (*cursor == '+')
                spec.plus_sign = true;
            else if (*cursor == ' ')
                spec.space_sign = true;
            else if (*cursor == '#')
                spec.alternate_form = true;
            else
                break;
        }
        if (*cursor == '*') {
            spec.width = va_arg(*args, int);
            if (spec.width < 0) {
                spec.left_justify = true;
                spec.width = -spec.width;
            }
            cursor++;
        } else {
            spec.width = parse_decimal(&cursor);
        }
        if (*cursor == '.') {
            cursor++;
            if (*cursor == '*') {
                spec.precision = va_arg(*args, int);
                cursor++;
            } else {
                spec.precision = parse_decimal(&cursor);
            }
        }
        enum length_modifier length = LENGTH_DEFAULT;
        if (cursor[0] == 'h' && cursor[1] == 'h') {
            length = LENGTH_CHAR;
            cursor += 2;
        } else if (cursor[0] == 'h') {
            length = LENGTH_SHORT;
            cursor++;
        } else if (cursor[0] == 'l' && cursor[1] == 'l') {
            length = LENGTH_LONG_LONG;
            cursor += 2;
        } else if (cursor[0] == 'l' || cursor[0] == 'j') {
            length = LENGTH_LONG;
            cursor++;
        } else if (cursor[0] == 'z' || cursor[0] == 't') {
            length = LENGTH_SIZE;
            cursor++;
        }
        switch (*cursor) {
        case 'd':
        case 'i':
            format_signed(sink, &spec, fetch_signed(args, length));
            break;
        case 'u':
            format_unsigned(sink, spec, fetch_unsigned(args, length), 10, false, "");
            break;
        case 'x':
        case 'X':
            format_unsigned(sink, spec, fetch_unsigned(args, length), 16, *cursor == 'X', "");
            break;
        case 'o':
            format_unsigned(sink, spec, fetch_unsigned(args, length), 8, false, "");
            break;
        case 'p':
            /* Always with 0x, also for NULL, so addresses line up in traces. */
            format_unsigned(sink, spec, (uintptr_t)va_arg(*args, void *), 16, false, "0x");
            break;
        case 'c': {
            char c = (char)va_arg(*args, int);
            spec.zero_pad = false;
            emit_padded(sink, &spec, "", &c, 1, 0);
            break;
        }
        case 's':
            format_string(sink, spec, va_arg(*args, const char *));
            break;
        case '%':
            emit_char(sink, '%');
            break;
        default:
            /* Unknown conversion: print it as written, so the mistake shows in the output. */
            for (const char *p = conversion_start; p <= cursor && *p != '\0'; p++)
                emit_char(sink, *p);
            if (*cursor == '\0')
                return;
            break;
        }
        cursor++;
    }
}

static void emit_to_uart(struct output_sink *sink, char c) {
    (void)sink;
    uart_putc(c);
}

static void emit_to_buffer(struct output_sink *sink, char c) {
    if (sink->written + 1 < sink->capacity)
        sink->buffer[sink->written] = c;
}

int vprintf(const char *format_string, va_list args) {
    struct output_sink sink = {.emit = emit_to_uart};
    va_list copy;
    va_copy(copy, args);
    format(&sink, format_string, &copy);
    va_end(copy);
    return (int)sink.written;
}

int printf(const char *format_string, ...) {
    va_list args;
    va_start(args, format_string);
    int written = vprintf(format_string, args);
    va_end(args);
    return written;
}

int vsnprintf(char *buffer, size_t size, const char *format_string, va_list args) {
    struct output_sink sink = {.emit = emit_to_buffer, .buffer = buffer, .capacity = size};
    va_list copy;
    va_copy(copy, args);
    format(&sink, format_string, &copy);
    va_end(copy);
    if (size > 0)
        buffer[sink.written < size ? sink.written : size - 1] = '\0';
    return (int)sink.written;
}

int snprintf(char *buffer, size_t size, const char *format_string, ...) {
    va_list args;
    va_start(args, format_string);
    int written = vsnprintf(buffer, size, format_string, args);
    va_end(args);
    return written;
}

int putchar(int c) {
    uart_putc((char)c);
    return (unsigned char)c;
}

int puts(const char *s) {
    while (*s != '\0')
        uart_putc(*s++);
    uart_putc('\n');
    return 1;
}
