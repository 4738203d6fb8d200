import { registry } from "@web/core/registry";

// Driven by tests/test_automation_menu.py as an SMS manager who is not an administrator.
registry.category("web_tour.tours").add("sms_connector_automations_tour", {
    steps: () => [
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
            content: "Open Configuration",
            trigger: ".o_main_navbar [data-menu-xmlid='sms_connector.sms_connector_menu_config']",
            run: "click",
        },
        {
            content: "Open Automations",
            trigger: ".dropdown-menu [data-menu-xmlid='sms_connector.sms_automation_menu']",
            run: "click",
        },
        {
            content: "The ready-made automation is listed, archived, with its template",
            trigger: ".o_list_view .o_data_row:contains(SMS: sale order confirmed):contains(Order confirmed) .o_field_boolean_toggle input:not(:checked)",
        },
        {
            content: "Switch it on",
            trigger: ".o_list_view .o_data_row:contains(SMS: sale order confirmed) .o_field_boolean_toggle input",
            run: "click",
        },
        {
            content: "It is on",
            trigger: ".o_list_view .o_data_row:contains(SMS: sale order confirmed) .o_field_boolean_toggle input:checked",
        },
        {
            content: "Saved (no pending change)",
            trigger: ".o_list_view:not(:has(.o_data_row.o_selected_row)):not(:has(.o_list_record_discard))",
        },
    ],
});
