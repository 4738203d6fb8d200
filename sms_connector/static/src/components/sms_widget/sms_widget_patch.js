import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";

// GSM 03.38 alphabet, as in sms_connector/tools/segments.py: the server bills with the same count.
const GSM7_BASIC = new Set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
);
const GSM7_EXTENSION = new Set("^{}\\[~]|€\f");
const SHOWN_CHARACTERS = 5;

function unique(characters) {
    return [...new Set(characters)].slice(0, SHOWN_CHARACTERS).join(" ");
}

/**
 * One counter line: Odoo's "61/160 | 1 SMS (GSM7)", counted as the networks (and our gateways)
 * count, extended with why the encoding or length is what it is and the estimated cost.
 */
patch(SmsWidget.prototype, {
    get smsConnectorText() {
        return String(this.props.record.data[this.props.name] || "");
    },
    _extractEncoding(content) {
        // Odoo's check misses the GSM-7 extension table (€ [ ] ...): those stay GSM-7.
        for (const ch of String(content)) {
            if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) {
                return "UNICODE";
            }
        }
        return "GSM7";
    },
    get smsConnectorDoubled() {
        return this.encoding === "GSM7" ? [...this.smsConnectorText].filter((ch) => GSM7_EXTENSION.has(ch)) : [];
    },
    get nbrChar() {
        // A line break is one character (Odoo counts two); a GSM-7 extension character is two.
        const newlines = (this._getValueForSmsCounts(this.smsConnectorText).match(/\n/g) || []).length;
        return super.nbrChar - newlines + this.smsConnectorDoubled.length;
    },
    get smsConnectorCapacity() {
        const gsm7 = this.encoding === "GSM7";
        if (this.nbrSMS <= 1) {
            return gsm7 ? 160 : 70;
        }
        return this.nbrSMS * (gsm7 ? 153 : 67);
    },
    get smsConnectorEncodingDetail() {
        if (this.encoding === "UNICODE") {
            const others = [...this.smsConnectorText].filter((ch) => !GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch));
            return _t("Unicode because of %(characters)s: 70 characters per SMS", { characters: unique(others) });
        }
        const doubled = this.smsConnectorDoubled;
        return doubled.length ? _t("%(characters)s count double", { characters: unique(doubled) }) : "";
    },
    get smsConnectorCostEstimate() {
        return this.props.record.data.sms_connector_cost_estimate || "";
    },
});
