// @generated automatically by Diesel CLI.

diesel::table! {
    agent_facilities (agent_id, facility_id) {
        agent_id -> Integer,
        facility_id -> Integer,
    }
}

diesel::table! {
    agents (id) {
        id -> Integer,
        name -> Text,
        phone -> Text,
        language -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (token_hash) {
        token_hash -> Text,
        staff_id -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    beneficiaries (id) {
        id -> Integer,
        phone -> Text,
        name -> Text,
        language -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_types (id) {
        id -> Integer,
        code -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_files (id) {
        id -> Integer,
        request_id -> Integer,
        stored_name -> Text,
        original_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        uploaded_by_client -> Nullable<Integer>,
        uploaded_by_staff -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_messages (id) {
        id -> Integer,
        request_id -> Integer,
        client_message_id -> Text,
        sender -> Text,
        staff_id -> Nullable<Integer>,
        kind -> Text,
        body -> Text,
        file_id -> Nullable<Integer>,
        sent_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    client_requests (id) {
        id -> Integer,
        client_id -> Integer,
        corporation_id -> Integer,
        origin -> Text,
        category -> Text,
        contact_name -> Text,
        contact_phone -> Text,
        description -> Text,
        status -> Text,
        helper_id -> Nullable<Integer>,
        created_at -> Timestamp,
        assigned_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    client_sessions (id) {
        id -> Text,
        client_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    clients (id) {
        id -> Integer,
        whatsapp_id -> Text,
        phone -> Nullable<Text>,
        display_name -> Text,
        language -> Text,
        login -> Text,
        password_hash -> Text,
        password_expires_at -> Timestamp,
        password_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_message_at -> Timestamp,
    }
}

diesel::table! {
    corporations (id) {
        id -> Integer,
        name -> Text,
        address -> Text,
        area -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    facilities (id) {
        id -> Integer,
        corporation_id -> Integer,
        name -> Text,
        code -> Text,
        address -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    flagged_messages (id) {
        id -> Integer,
        inbound_message_id -> Nullable<Integer>,
        agent_id -> Nullable<Integer>,
        task_id -> Nullable<Integer>,
        reason -> Text,
        detail -> Text,
        status -> Text,
        resolved_by -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> Integer,
        task_id -> Integer,
        slot_id -> Integer,
        tracking_id -> Text,
        status -> Text,
        sent_at -> Timestamp,
        reply -> Nullable<Text>,
        reply_inbound_id -> Nullable<Integer>,
        replied_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    inbound_messages (id) {
        id -> Integer,
        channel -> Text,
        provider_message_id -> Nullable<Text>,
        sender -> Text,
        recipient -> Text,
        text -> Text,
        received_at -> Timestamp,
        status -> Text,
        outcome -> Nullable<Text>,
        agent_id -> Nullable<Integer>,
        duplicate_of -> Nullable<Integer>,
        processed_at -> Nullable<Timestamp>,
        media_kind -> Nullable<Text>,
        media_id -> Nullable<Text>,
        media_mime_type -> Nullable<Text>,
        media_filename -> Nullable<Text>,
        sender_name -> Nullable<Text>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Integer,
        account_key -> Text,
        client_address -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    outbound_messages (id) {
        id -> Integer,
        channel -> Text,
        recipient -> Text,
        text -> Text,
        template_id -> Text,
        language -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        provider_message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        task_id -> Nullable<Integer>,
        inbound_message_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbound_resends (id) {
        id -> Integer,
        outbound_message_id -> Integer,
        resent_by -> Text,
        previous_attempts -> Integer,
        previous_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reminders (id) {
        id -> Integer,
        task_id -> Integer,
        slot_id -> Integer,
        outbound_message_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    slot_series (id) {
        id -> Integer,
        facility_id -> Integer,
        case_type_id -> Integer,
        first_date -> Date,
        start_time -> Time,
        capacity -> Integer,
        recurrence -> Text,
        end_date -> Nullable<Date>,
        occurrences -> Nullable<Integer>,
        cancelled -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    slots (id) {
        id -> Integer,
        series_id -> Integer,
        facility_id -> Integer,
        case_type_id -> Integer,
        starts_at -> Timestamp,
        capacity -> Integer,
        booked -> Integer,
        cancelled -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    staff_corporations (staff_id, corporation_id) {
        staff_id -> Integer,
        corporation_id -> Integer,
    }
}

diesel::table! {
    staff_sessions (id) {
        id -> Text,
        staff_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    staff_users (id) {
        id -> Integer,
        name -> Text,
        email -> Text,
        designation -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
    }
}

diesel::table! {
    task_transitions (id) {
        id -> Integer,
        task_id -> Integer,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        cause -> Text,
        inbound_message_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> Integer,
        agent_id -> Integer,
        case_type_id -> Integer,
        facility_id -> Integer,
        slot_id -> Integer,
        beneficiary_id -> Integer,
        beneficiary_name -> Text,
        beneficiary_phone -> Text,
        status -> Text,
        reschedule_count -> Integer,
        inbound_message_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        requested_facility_id -> Nullable<Integer>,
    }
}

diesel::joinable!(agent_facilities -> agents (agent_id));
diesel::joinable!(agent_facilities -> facilities (facility_id));
diesel::joinable!(api_tokens -> staff_users (staff_id));
diesel::joinable!(facilities -> corporations (corporation_id));
diesel::joinable!(flagged_messages -> agents (agent_id));
diesel::joinable!(flagged_messages -> inbound_messages (inbound_message_id));
diesel::joinable!(flagged_messages -> tasks (task_id));
diesel::joinable!(follow_ups -> inbound_messages (reply_inbound_id));
diesel::joinable!(follow_ups -> slots (slot_id));
diesel::joinable!(follow_ups -> tasks (task_id));
diesel::joinable!(outbound_messages -> inbound_messages (inbound_message_id));
diesel::joinable!(outbound_messages -> tasks (task_id));
diesel::joinable!(outbound_resends -> outbound_messages (outbound_message_id));
diesel::joinable!(reminders -> outbound_messages (outbound_message_id));
diesel::joinable!(reminders -> slots (slot_id));
diesel::joinable!(reminders -> tasks (task_id));
diesel::joinable!(chat_files -> client_requests (request_id));
diesel::joinable!(chat_messages -> chat_files (file_id));
diesel::joinable!(chat_messages -> client_requests (request_id));
diesel::joinable!(chat_messages -> staff_users (staff_id));
diesel::joinable!(client_requests -> clients (client_id));
diesel::joinable!(client_requests -> corporations (corporation_id));
diesel::joinable!(client_requests -> staff_users (helper_id));
diesel::joinable!(client_sessions -> clients (client_id));
diesel::joinable!(slot_series -> case_types (case_type_id));
diesel::joinable!(slot_series -> facilities (facility_id));
diesel::joinable!(slots -> case_types (case_type_id));
diesel::joinable!(slots -> facilities (facility_id));
diesel::joinable!(slots -> slot_series (series_id));
diesel::joinable!(staff_corporations -> corporations (corporation_id));
diesel::joinable!(staff_corporations -> staff_users (staff_id));
diesel::joinable!(staff_sessions -> staff_users (staff_id));
diesel::joinable!(task_transitions -> inbound_messages (inbound_message_id));
diesel::joinable!(task_transitions -> tasks (task_id));
diesel::joinable!(tasks -> agents (agent_id));
diesel::joinable!(tasks -> beneficiaries (beneficiary_id));
diesel::joinable!(tasks -> case_types (case_type_id));
diesel::joinable!(tasks -> facilities (facility_id));
diesel::joinable!(tasks -> inbound_messages (inbound_message_id));
diesel::joinable!(tasks -> slots (slot_id));

diesel::allow_tables_to_appear_in_same_query!(
    agent_facilities,
    agents,
    api_tokens,
    beneficiaries,
    case_types,
    chat_files,
    chat_messages,
    client_requests,
    client_sessions,
    clients,
    corporations,
    facilities,
    flagged_messages,
    follow_ups,
    inbound_messages,
    login_attempts,
    outbound_messages,
    outbound_resends,
    reminders,
    slot_series,
    slots,
    staff_corporations,
    staff_sessions,
    staff_users,
    task_transitions,
    tasks,
);
