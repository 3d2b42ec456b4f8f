/**
 * The EC2 calls, as CloudTrail names them, after which the flow-insights inventory describes again
 * the ENI they name (or, for an Elastic IP associated with an instance and for an instance's
 * attributes, the instance's ENIs): each changes an ENI's addresses, attachment or groups. Member
 * accounts forward these and SECURITY_GROUP_CALLS. What no call names an ENI for (a detachment
 * names only the attachment, a disassociation only the association) is caught by the scheduled
 * refresh.
 */
export const INTERFACE_CALLS = [
  "CreateNetworkInterface",
  "DeleteNetworkInterface",
  "AttachNetworkInterface",
  "ModifyNetworkInterfaceAttribute",
  "AssignPrivateIpAddresses",
  "UnassignPrivateIpAddresses",
  "AssignIpv6Addresses",
  "UnassignIpv6Addresses",
  "AssociateAddress",
  "ModifyInstanceAttribute",
] as const;

/** The calls after which the inventory describes again the security group they name: each changes its rules. */
export const SECURITY_GROUP_CALLS = ["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules"] as const;
