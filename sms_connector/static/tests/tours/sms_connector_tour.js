import { registry } from "@web/core/registry";

// Driven by tests/test_browser_tour.py: a contact with a phone number is opened by the start URL.
registry.category("web_tour.tours").add("sms_connector_send_sms_tour", {
    steps: () => [
        {
            // The "SMS" link next to the phone shows when the field has the focus.
            content: "Focus the contact's phone number",
            trigger: ".o_form_view .o_field_widget[name=phone] input",
            run: "click",
        },
        {
            content: "Open the SMS composer from the contact's phone number",
            trigger: ".o_form_view .o_field_widget[name=phone] .o_field_phone_sms",
            run: "click",
        },
        {
            content: "Write the SMS",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Hello from the SMS tour",
        },
        {
            content: "Send it",
            trigger: ".modal .modal-footer button[name=action_send_sms]",
            run: "click",
        },
        {
            content: "The SMS is in the chatter",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Hello from the SMS tour)",
        },
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the SMS app",
            trigger: ".o_app[data-menu-xmlid='sms_connector.sms_connector_menu_root']",
            run: "click",
        },
        {
            content: "Open SMS > SMS Activity",
            trigger: ".o_main_navbar .o_menu_sections [data-menu-xmlid='sms_connector.sms_message_menu']",
            run: "click",
        },
        {
            content: "SMS Activity lists the SMS",
            trigger: ".o_list_view .o_data_row .o_data_cell:contains(Hello from the SMS tour)",
        },
    ],
});

// Second leg: after the phone replied through the fake provider, the reply is on the contact.
registry.category("web_tour.tours").add("sms_connector_reply_tour", {
    steps: () => [
        {
            content: "The reply from the phone is in the contact's chatter",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Yes please, call me tomorrow)",
        },
    ],
});
