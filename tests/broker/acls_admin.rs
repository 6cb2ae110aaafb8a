//! librdkafka's ACL admin calls (`rd_kafka_CreateAcls`, `rd_kafka_DescribeAcls`,
//! `rd_kafka_DeleteAcls`), which the rdkafka crate does not wrap: called through its
//! `bindings` (rdkafka-sys) on an admin client's handle, with a queue of our own for the
//! result event. Each call blocks (up to the deadline) and returns owned Rust values.
//!
//! This is the only unsafe code of the tests: FFI into librdkafka, with every pointer it
//! returns read before the event that owns it is destroyed.
#![allow(unsafe_code)]

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::common::DEADLINE;

/// An ACL binding (or, with `None`s and ANY/MATCH values, a filter), in librdkafka's values,
/// which are Kafka's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub resource_type: rd::rd_kafka_ResourceType_t,
    pub name: Option<String>,
    pub pattern_type: rd::rd_kafka_ResourcePatternType_t,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: rd::rd_kafka_AclOperation_t,
    pub permission_type: rd::rd_kafka_AclPermissionType_t,
}

pub use rd::rd_kafka_AclOperation_t as Op;
pub use rd::rd_kafka_AclPermissionType_t as Permission;
pub use rd::rd_kafka_ResourcePatternType_t as Pattern;
pub use rd::rd_kafka_ResourceType_t as Resource;

impl Binding {
    /// A binding for `principal` from any host.
    pub fn allow(
        resource_type: Resource,
        name: &str,
        pattern_type: Pattern,
        principal: &str,
        operation: Op,
    ) -> Self {
        Binding {
            resource_type,
            name: Some(name.into()),
            pattern_type,
            principal: Some(principal.into()),
            host: Some("*".into()),
            operation,
            permission_type: Permission::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
        }
    }

    /// The same binding, denying.
    pub fn denying(mut self) -> Self {
        self.permission_type = Permission::RD_KAFKA_ACL_PERMISSION_TYPE_DENY;
        self
    }

    /// The order results are sorted in.
    fn key(&self) -> impl Ord + '_ {
        (
            self.resource_type as u32,
            &self.name,
            self.pattern_type as u32,
            &self.principal,
            &self.host,
            self.operation as u32,
            self.permission_type as u32,
        )
    }

    /// The filter that matches every ACL.
    pub fn any() -> Self {
        Binding {
            resource_type: Resource::RD_KAFKA_RESOURCE_ANY,
            name: None,
            pattern_type: Pattern::RD_KAFKA_RESOURCE_PATTERN_ANY,
            principal: None,
            host: None,
            operation: Op::RD_KAFKA_ACL_OPERATION_ANY,
            permission_type: Permission::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
        }
    }
}

/// A broker's or librdkafka's error: the code and its message.
pub type Failure = (RDKafkaErrorCode, String);

/// CreateAcls: each binding's outcome, or the request's failure.
pub fn create_acls(
    config: &ClientConfig,
    bindings: &[Binding],
) -> Result<Vec<Result<(), Failure>>, Failure> {
    let admin = client(config);
    let rk = admin.inner().native_ptr();
    let mut natives: Vec<*mut rd::rd_kafka_AclBinding_t> =
        bindings.iter().map(|b| native(b, false)).collect();
    let result = unsafe {
        let queue = rd::rd_kafka_queue_new(rk);
        let options = options(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS);
        rd::rd_kafka_CreateAcls(rk, natives.as_mut_ptr(), natives.len(), options, queue);
        let outcome = wait(queue, |event| {
            let result = rd::rd_kafka_event_CreateAcls_result(event);
            let mut count = 0;
            let acls = rd::rd_kafka_CreateAcls_result_acls(result, &mut count);
            (0..count)
                .map(|i| error_of(rd::rd_kafka_acl_result_error(*acls.add(i))).map_or(Ok(()), Err))
                .collect()
        });
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_queue_destroy(queue);
        outcome
    };
    for n in natives {
        unsafe { rd::rd_kafka_AclBinding_destroy(n) };
    }
    result
}

/// DescribeAcls: the ACLs the filter matches, sorted.
pub fn describe_acls(config: &ClientConfig, filter: &Binding) -> Result<Vec<Binding>, Failure> {
    let admin = client(config);
    let rk = admin.inner().native_ptr();
    let native_filter = native(filter, true);
    let result = unsafe {
        let queue = rd::rd_kafka_queue_new(rk);
        let options = options(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
        rd::rd_kafka_DescribeAcls(rk, native_filter, options, queue);
        let outcome = wait(queue, |event| {
            let result = rd::rd_kafka_event_DescribeAcls_result(event);
            let mut count = 0;
            let acls = rd::rd_kafka_DescribeAcls_result_acls(result, &mut count);
            let mut out: Vec<Binding> = (0..count).map(|i| binding_of(*acls.add(i))).collect();
            out.sort_by(|a, b| a.key().cmp(&b.key()));
            out
        });
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_queue_destroy(queue);
        rd::rd_kafka_AclBinding_destroy(native_filter);
        outcome
    };
    result
}

/// DeleteAcls: per filter, the ACLs it deleted (sorted) or its failure.
pub fn delete_acls(
    config: &ClientConfig,
    filters: &[Binding],
) -> Result<Vec<Result<Vec<Binding>, Failure>>, Failure> {
    let admin = client(config);
    let rk = admin.inner().native_ptr();
    let mut natives: Vec<*mut rd::rd_kafka_AclBinding_t> =
        filters.iter().map(|b| native(b, true)).collect();
    let result = unsafe {
        let queue = rd::rd_kafka_queue_new(rk);
        let options = options(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS);
        rd::rd_kafka_DeleteAcls(rk, natives.as_mut_ptr(), natives.len(), options, queue);
        let outcome = wait(queue, |event| {
            let result = rd::rd_kafka_event_DeleteAcls_result(event);
            let mut count = 0;
            let responses = rd::rd_kafka_DeleteAcls_result_responses(result, &mut count);
            (0..count)
                .map(|i| {
                    let response = *responses.add(i);
                    if let Some(e) =
                        error_of(rd::rd_kafka_DeleteAcls_result_response_error(response))
                    {
                        return Err(e);
                    }
                    let mut matched = 0;
                    let acls = rd::rd_kafka_DeleteAcls_result_response_matching_acls(
                        response,
                        &mut matched,
                    );
                    let mut out: Vec<Binding> =
                        (0..matched).map(|j| binding_of(*acls.add(j))).collect();
                    out.sort_by(|a, b| a.key().cmp(&b.key()));
                    Ok(out)
                })
                .collect()
        });
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_queue_destroy(queue);
        outcome
    };
    for n in natives {
        unsafe { rd::rd_kafka_AclBinding_destroy(n) };
    }
    result
}

fn client(config: &ClientConfig) -> AdminClient<DefaultClientContext> {
    config.create().expect("admin client")
}

fn cstring(s: &Option<String>) -> Option<CString> {
    s.as_ref()
        .map(|s| CString::new(s.as_str()).expect("no NUL"))
}

fn as_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// A librdkafka binding or filter (librdkafka copies the strings).
fn native(b: &Binding, filter: bool) -> *mut rd::rd_kafka_AclBinding_t {
    let (name, principal, host) = (cstring(&b.name), cstring(&b.principal), cstring(&b.host));
    let mut errstr = [0 as c_char; 512];
    let made = unsafe {
        if filter {
            rd::rd_kafka_AclBindingFilter_new(
                b.resource_type,
                as_ptr(&name),
                b.pattern_type,
                as_ptr(&principal),
                as_ptr(&host),
                b.operation,
                b.permission_type,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        } else {
            rd::rd_kafka_AclBinding_new(
                b.resource_type,
                as_ptr(&name),
                b.pattern_type,
                as_ptr(&principal),
                as_ptr(&host),
                b.operation,
                b.permission_type,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        }
    };
    assert!(!made.is_null(), "librdkafka refused {b:?}: {}", unsafe {
        text(errstr.as_ptr())
    });
    made
}

unsafe fn options(
    rk: *mut rd::rd_kafka_t,
    op: rd::rd_kafka_admin_op_t,
) -> *mut rd::rd_kafka_AdminOptions_t {
    let options = rd::rd_kafka_AdminOptions_new(rk, op);
    let mut errstr = [0 as c_char; 512];
    let timeout = i32::try_from(DEADLINE.as_millis()).expect("deadline in ms");
    let err = rd::rd_kafka_AdminOptions_set_request_timeout(
        options,
        timeout,
        errstr.as_mut_ptr(),
        errstr.len(),
    );
    assert_eq!(err, rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
    options
}

/// Polls `queue` for the admin result (within the deadline) and reads it with `read`, or
/// returns the event's error.
unsafe fn wait<T>(
    queue: *mut rd::rd_kafka_queue_t,
    read: impl FnOnce(*mut rd::rd_kafka_event_t) -> T,
) -> Result<T, Failure> {
    let timeout = i32::try_from(DEADLINE.as_millis()).expect("deadline in ms");
    let event = rd::rd_kafka_queue_poll(queue, timeout);
    assert!(!event.is_null(), "no admin result within {DEADLINE:?}");
    let err = rd::rd_kafka_event_error(event);
    let outcome = if err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(read(event))
    } else {
        Err((err.into(), text(rd::rd_kafka_event_error_string(event))))
    };
    rd::rd_kafka_event_destroy(event);
    outcome
}

unsafe fn error_of(error: *const rd::rd_kafka_error_t) -> Option<Failure> {
    if error.is_null() {
        return None;
    }
    Some((
        rd::rd_kafka_error_code(error).into(),
        text(rd::rd_kafka_error_string(error)),
    ))
}

unsafe fn binding_of(acl: *const rd::rd_kafka_AclBinding_t) -> Binding {
    Binding {
        resource_type: rd::rd_kafka_AclBinding_restype(acl),
        name: Some(text(rd::rd_kafka_AclBinding_name(acl))),
        pattern_type: rd::rd_kafka_AclBinding_resource_pattern_type(acl),
        principal: Some(text(rd::rd_kafka_AclBinding_principal(acl))),
        host: Some(text(rd::rd_kafka_AclBinding_host(acl))),
        operation: rd::rd_kafka_AclBinding_operation(acl),
        permission_type: rd::rd_kafka_AclBinding_permission_type(acl),
    }
}

unsafe fn text(s: *const c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    CStr::from_ptr(s).to_string_lossy().into_owned()
}
