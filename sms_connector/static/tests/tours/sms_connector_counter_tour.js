import { registry } from "@web/core/registry";

// Driven by tests/test_composer_counter.py: a US contact is opened by the start URL, the US
// gateway has a price per SMS part.
registry.category("web_tour.tours").add("sms_connector_composer_counter_tour", {
    steps: () => [
        {
            content: "Focus the contact's phone number",
            trigger: ".o_form_view .o_field_widget[name=phone] input",
            run: "click",
        },
        {
            content: "Open the SMS composer",
            trigger: ".o_form_view .o_field_widget[name=phone] .o_field_phone_sms",
            run: "click",
        },
        {
            content: "Write an SMS with GSM-7 extension characters",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Price: 5€ [ok] && press Tab", // the counter follows the saved value
        },
        {
            content: "Odoo's counter, counted as the network does: € [ ] count double and stay GSM-7",
            trigger: ".modal .o_sms_count:contains(17/160):contains(| 1 SMS):contains(GSM7)",
        },
        {
            content: "Extended with the encoding detail",
            trigger: ".modal .o_sms_count .o_sms_connector_encoding:contains(€ [ ] count double)",
        },
        {
            content: "Extended with the estimated cost",
            trigger: ".modal .o_sms_count .o_sms_connector_cost:contains(0.0079 USD)",
        },
        {
            content: "No second counter",
            trigger: ".modal:not(:has(.o_sms_count ~ .o_sms_count)):not(:has(div[name=sms_connector_counter]))",
        },
        {
            content: "Write an SMS that needs Unicode",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Привет && press Tab",
        },
        {
            content: "Unicode: 70 characters per SMS, and why",
            trigger: ".modal .o_sms_count:contains(6/70):contains(UNICODE) .o_sms_connector_encoding:contains(Unicode because of)",
        },
        {
            content: "Discard",
            trigger: ".modal .modal-footer button.btn-secondary",
            run: "click",
        },
        {
            content: "Back on the contact",
            trigger: ".o_form_view:not(:has(.modal))",
        },
    ],
});
