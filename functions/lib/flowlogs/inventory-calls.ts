/**
 * The EC2 calls, as CloudTrail names them, after which the flow-insights inventory describes again
 * the ENI they name (or, for an Elastic IP associated with an instance, the instance's ENIs): each
 * changes what an ENI holds or says of its resource. Member accounts forward these events. What no
 * call names an ENI for (a detachment names only the attachment, a disassociation only the
 * association) is caught by the scheduled refresh.
 */
export const INVENTORY_CALLS = [
  "CreateNetworkInterface",
  "DeleteNetworkInterface",
  "AttachNetworkInterface",
  "ModifyNetworkInterfaceAttribute",
  "AssignPrivateIpAddresses",
  "UnassignPrivateIpAddresses",
  "AssignIpv6Addresses",
  "UnassignIpv6Addresses",
  "AssociateAddress",
] as const;
