import { registry } from "@web/core/registry";

// Driven by tests/test_campaign_figures.py as a marketer: an SMS mailing is opened by the start URL.
registry.category("web_tour.tours").add("sms_connector_campaign_tour", {
    steps: () => [
        {
            content: "Pick the preview recipient among the mailing's contacts",
            trigger: ".o_form_view .o_field_widget[name=sms_connector_preview_res_id] input",
            run: "edit Bob Tour",
        },
        {
            content: "Choose Bob Tour in the list",
            trigger: ".o-autocomplete--dropdown-item:contains(Bob Tour)",
            run: "click",
        },
        {
            content: "The preview is rendered for Bob Tour",
            trigger: ".o_field_widget[name=sms_connector_preview_body]:contains(Hi Bob Tour)",
        },
        {
            content: "The estimate details the cost per destination country",
            trigger: ".o_field_widget[name=sms_connector_estimate_detail]:contains(United States via)",
        },
        {
            content: "Save the mailing",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Test the campaign",
            trigger: ".o_form_view button[name=action_sms_connector_test_campaign]",
            run: "click",
        },
        {
            content: "The test result is in the chatter, skipped recipients apart",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(Test campaign: 2 recipients, 0 errors. Skipped recipients: 1 duplicates, 1 opted out.)",
        },
    ],
});
