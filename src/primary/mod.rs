//! Primary authentication ("is the password right?"). Back-ends only answer that question;
//! they never see RADIUS attributes or LDAP operations.

pub mod local;
