//! The commands the simulator knows, with the metadata `listApis` reports for them: parameter
//! types, lengths, required flags and descriptions, and the response's fields (the shape of the
//! real server's `ApiDiscoveryResponse`, as in CloudStack's API reference).
//!
//! The table is the one place a command is declared: the dispatcher looks commands up here
//! (case-sensitively, as `ApiServer` does), required parameters are checked from it, and
//! `listApis` renders it.

use serde_json::{Value, json};

/// One parameter: name, type (`string`, `uuid`, `boolean`, `integer`, `long`, `list`, `map`,
/// `date`), required, maximum length, description.
pub(crate) type Param = (&'static str, &'static str, bool, u32, &'static str);

/// One response field: name, type, description.
pub(crate) type Field = (&'static str, &'static str, &'static str);

/// A command the simulator implements.
pub(crate) struct Api {
    pub(crate) name: &'static str,
    pub(crate) isasync: bool,
    pub(crate) since: &'static str,
    pub(crate) description: &'static str,
    pub(crate) params: &'static [&'static [Param]],
    pub(crate) response: &'static [Field],
}

impl Api {
    /// Every parameter, in declaration order.
    pub(crate) fn all_params(&self) -> impl Iterator<Item = &'static Param> {
        self.params.iter().flat_map(|group| group.iter())
    }

    /// Names of the required parameters.
    pub(crate) fn required(&self) -> impl Iterator<Item = &'static str> {
        self.all_params().filter(|p| p.2).map(|p| p.0)
    }

    /// The `listApis` entry.
    pub(crate) fn to_json(&self) -> Value {
        let params: Vec<Value> = self
            .all_params()
            .map(|(name, ty, required, length, description)| {
                json!({"name": name, "type": ty, "required": required, "length": length, "description": description})
            })
            .collect();
        let response: Vec<Value> = self
            .response
            .iter()
            .map(|(name, ty, description)| json!({"name": name, "type": ty, "description": description}))
            .collect();
        json!({
            "name": self.name, "description": self.description, "since": self.since, "isasync": self.isasync,
            "related": "", "params": params, "response": response
        })
    }
}

/// Looks a command up by its exact name (the server's map is case-sensitive).
pub(crate) fn find(name: &str) -> Option<&'static Api> {
    APIS.iter().find(|a| a.name == name)
}

#[rustfmt::skip]
const PAGE: &[Param] = &[
    ("keyword", "string", false, 255, "List by keyword"),
    ("page", "integer", false, 255, ""),
    ("pagesize", "integer", false, 255, ""),
];

#[rustfmt::skip]
const OWNER: &[Param] = &[
    ("account", "string", false, 255, "list resources by account. Must be used with the domainId parameter."),
    ("domainid", "uuid", false, 255, "list only resources belonging to the domain specified"),
    ("isrecursive", "boolean", false, 255, "defaults to false, but if true, lists all resources from the parent specified by the domainId till leaves."),
    ("listall", "boolean", false, 255, "If set to false, list only resources belonging to the command's caller; if set to true - list resources that the caller is authorized to see. Default value is false"),
    ("projectid", "uuid", false, 255, "list objects by project"),
];

#[rustfmt::skip]
const SUCCESS: &[Field] = &[
    ("success", "boolean", "true if operation is executed successfully"),
    ("displaytext", "string", "any text associated with the success or failure"),
];

#[rustfmt::skip]
const ZONE: &[Field] = &[
    ("id", "string", "Zone id"),
    ("name", "string", "Zone name"),
    ("description", "string", "Zone description"),
    ("dns1", "string", "the first DNS for the Zone"),
    ("internaldns1", "string", "the first internal DNS for the Zone"),
    ("guestcidraddress", "string", "the guest CIDR address for the Zone"),
    ("networktype", "string", "the network type of the zone; can be Basic or Advanced"),
    ("securitygroupsenabled", "boolean", "true if security groups support is enabled, false otherwise"),
    ("allocationstate", "string", "the allocation state of the cluster"),
    ("zonetoken", "string", "Zone Token"),
    ("dhcpprovider", "string", "the dhcp Provider for the Zone"),
    ("localstorageenabled", "boolean", "true if local storage offering enabled, false otherwise"),
    ("type", "string", "The type of the zone - core or edge"),
    ("tags", "set", "the list of resource tags associated with zone."),
];

#[rustfmt::skip]
const OSTYPE: &[Field] = &[
    ("id", "string", "the ID of the OS type"),
    ("description", "string", "the name/description of the OS type"),
    ("name", "string", "the name of the OS type"),
    ("oscategoryid", "string", "the ID of the OS category"),
    ("oscategoryname", "string", "the name of the OS category"),
    ("isuserdefined", "boolean", "is the guestOS user defined"),
];

#[rustfmt::skip]
const OFFERING: &[Field] = &[
    ("id", "string", "the id of the service offering"),
    ("name", "string", "the name of the service offering"),
    ("displaytext", "string", "an alternate display text of the service offering."),
    ("cpunumber", "integer", "the number of CPU"),
    ("cpuspeed", "integer", "the clock rate CPU speed in Mhz"),
    ("memory", "integer", "the memory in MB"),
    ("created", "date", "the date this service offering was created"),
    ("storagetype", "string", "the storage type for this service offering"),
    ("offerha", "boolean", "the ha support in the service offering"),
    ("limitcpuuse", "boolean", "restrict the CPU usage to committed service offering"),
    ("isvolatile", "boolean", "true if the vm needs to be volatile, i.e., on every reboot of vm from API root disk is discarded and creates a new root disk"),
    ("issystem", "boolean", "is this a system vm offering"),
    ("defaultuse", "boolean", "is this a  default system vm offering"),
    ("iscustomized", "boolean", "is true if the offering is customized"),
    ("hosttags", "string", "the host tag for the service offering"),
];

#[rustfmt::skip]
const TEMPLATE: &[Field] = &[
    ("id", "string", "the template ID"),
    ("name", "string", "the template name"),
    ("displaytext", "string", "the template display text"),
    ("ispublic", "boolean", "true if this template is a public template, false otherwise"),
    ("created", "date", "the date this template was created"),
    ("isready", "boolean", "true if the template is ready to be deployed from, false otherwise."),
    ("passwordenabled", "boolean", "true if the reset password feature is enabled, false otherwise"),
    ("format", "imageformat", "the format of the template."),
    ("isfeatured", "boolean", "true if this template is a featured template, false otherwise"),
    ("crossZones", "boolean", "true if the template is managed across all Zones, false otherwise"),
    ("ostypeid", "string", "the ID of the OS type for this template."),
    ("ostypename", "string", "the name of the OS type for this template."),
    ("account", "string", "the account name to which the template belongs"),
    ("accountid", "string", "the account id to which the template belongs"),
    ("zoneid", "string", "the ID of the zone for this template"),
    ("zonename", "string", "the name of the zone for this template"),
    ("status", "string", "the status of the template"),
    ("size", "long", "the size of the template"),
    ("physicalsize", "long", "the physical size of the template"),
    ("templatetype", "string", "the type of the template"),
    ("hypervisor", "string", "the hypervisor on which the template runs"),
    ("domain", "string", "the name of the domain to which the template belongs"),
    ("domainid", "string", "the ID of the domain to which the template belongs"),
    ("isextractable", "boolean", "true if the template is extractable, false otherwise"),
    ("checksum", "string", "checksum of the template"),
    ("downloaddetails", "list", "Lists the download progress of a template across all secondary storages"),
    ("sshkeyenabled", "boolean", "true if template is sshkey enabled, false otherwise"),
    ("isdynamicallyscalable", "boolean", "true if template contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
    ("directdownload", "boolean", "KVM Only: true if template is directly downloaded to Primary Storage bypassing Secondary Storage"),
    ("deployasis", "boolean", "VMware only: true if template is deployed without orchestrating disks and networks but \"as-is\" defined in the template."),
    ("requireshvm", "boolean", "true if template requires HVM enabled, false otherwise"),
    ("arch", "string", "CPU Arch of the template"),
    ("url", "string", "the URL which the template/iso is registered from"),
    ("bits", "int", "the processor bit size"),
    ("tags", "set", "the list of resource tags associated"),
];

#[rustfmt::skip]
const EXTRACT: &[Field] = &[
    ("id", "string", "the id of extracted object"),
    ("name", "string", "the name of the extracted object"),
    ("extractId", "string", "the upload id of extracted object"),
    ("accountid", "string", "the account id to which the extracted object belongs"),
    ("state", "string", "the state of the extracted object"),
    ("zoneid", "string", "zone ID the object was extracted from"),
    ("zonename", "string", "zone name the object was extracted from"),
    ("extractMode", "string", "the mode of extraction - upload or download"),
    ("url", "string", "if mode = upload then url of the uploaded entity. if mode = download the url from which the entity can be downloaded"),
    ("uploadpercentage", "integer", "the percentage of the entity uploaded to the specified location"),
    ("created", "date", "the time and date the object was created"),
    ("status", "string", "the status of the extraction"),
];

#[rustfmt::skip]
const VM: &[Field] = &[
    ("id", "string", "the ID of the virtual machine"),
    ("name", "string", "the name of the virtual machine"),
    ("displayname", "string", "user generated name. The name of the virtual machine is returned if no displayname exists."),
    ("account", "string", "the account associated with the virtual machine"),
    ("domainid", "string", "the ID of the domain in which the virtual machine exists"),
    ("domain", "string", "the name of the domain in which the virtual machine exists"),
    ("created", "date", "the date when this virtual machine was created"),
    ("state", "string", "the state of the virtual machine"),
    ("haenable", "boolean", "true if high-availability is enabled, false otherwise"),
    ("zoneid", "string", "the ID of the availability zone for the virtual machine"),
    ("zonename", "string", "the name of the availability zone for the virtual machine"),
    ("templateid", "string", "the ID of the template for the virtual machine. A -1 is returned if the virtual machine was created from an ISO file."),
    ("templatename", "string", "the name of the template for the virtual machine"),
    ("templatedisplaytext", "string", " an alternate display text of the template for the virtual machine"),
    ("passwordenabled", "boolean", "true if the password rest feature is enabled, false otherwise"),
    ("password", "string", "the password (if exists) of the virtual machine"),
    ("serviceofferingid", "string", "the ID of the service offering of the virtual machine"),
    ("serviceofferingname", "string", "the name of the service offering of the virtual machine"),
    ("cpunumber", "integer", "the number of vCPUs this virtual machine is using"),
    ("cpuspeed", "integer", "the speed of each vCPU"),
    ("memory", "integer", "the memory allocated for the virtual machine"),
    ("guestosid", "string", "Os type ID of the virtual machine"),
    ("rootdeviceid", "long", "device ID of the root volume"),
    ("rootdevicetype", "string", "device type of the root volume"),
    ("hypervisor", "string", "the hypervisor on which the template runs"),
    ("instancename", "string", "instance name of the user vm; this parameter is returned to the ROOT admin only"),
    ("keypairs", "string", "ssh key-pairs"),
    ("nic", "set", "the list of nics associated with vm"),
    ("securitygroup", "set", "list of security groups associated with the virtual machine"),
    ("affinitygroup", "set", "list of affinity groups associated with the virtual machine"),
    ("isdynamicallyscalable", "boolean", "true if vm contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory."),
    ("ostypeid", "string", "OS type id of the vm"),
    ("osdisplayname", "string", "OS name of the vm"),
    ("arch", "string", "CPU arch of the VM"),
    ("tags", "set", "the list of resource tags associated"),
    ("jobid", "string", "the UUID of the latest async job acting on this object"),
    ("jobstatus", "integer", "the current status of the latest async job acting on this object"),
];

#[rustfmt::skip]
const JOB: &[Field] = &[
    ("jobid", "string", "extra job id"),
    ("accountid", "string", "the account id that executed the async command"),
    ("userid", "string", "the user that executed the async command"),
    ("cmd", "string", "the async command executed"),
    ("jobstatus", "integer", "the current job status-should be 0 for PENDING"),
    ("jobprocstatus", "integer", "the progress information of the PENDING job"),
    ("jobresultcode", "integer", "the result code for the job"),
    ("jobresulttype", "string", "the result type"),
    ("jobresult", "responseobject", "the result reason"),
    ("jobinstancetype", "string", "the instance/entity object related to the job"),
    ("jobinstanceid", "string", "the unique ID of the instance/entity object related to the job"),
    ("created", "date", "  the created date of the job"),
    ("completed", "date", "  the completed date of the job"),
];

#[rustfmt::skip]
const API: &[Field] = &[
    ("name", "string", "the name of the api command"),
    ("description", "string", "description of the api"),
    ("since", "string", "version of CloudStack the api was introduced in"),
    ("isasync", "boolean", "true if api is asynchronous"),
    ("related", "string", "comma separated related apis"),
    ("params", "set", "the list params the api accepts"),
    ("response", "set", "api response fields"),
];

#[rustfmt::skip]
const HYPERVISOR: &[Field] = &[("name", "string", "Hypervisor name")];

#[rustfmt::skip]
const PUBLIC_IP: &[Field] = &[
    ("id", "string", "public IP address id"),
    ("ipaddress", "string", "public IP address"),
    ("allocated", "date", "date the public IP address was acquired"),
    ("zoneid", "string", "the ID of the zone the public IP address belongs to"),
    ("zonename", "string", "the name of the zone the public IP address belongs to"),
    ("issourcenat", "boolean", "true if the IP address is a source nat address, false otherwise"),
    ("account", "string", "the account the public IP address is associated with"),
    ("domainid", "string", "the domain ID the public IP address is associated with"),
    ("domain", "string", "the domain the public IP address is associated with"),
    ("forvirtualnetwork", "boolean", "the virtual network for the IP address"),
    ("isstaticnat", "boolean", "true if this ip is for static nat, false otherwise"),
    ("issystem", "boolean", "true if this ip is system ip (was allocated as a part of deployVm or createLbRule)"),
    ("virtualmachineid", "string", "virtual machine id the ip address is assigned to"),
    ("associatednetworkid", "string", "the ID of the Network associated with the IP address"),
    ("associatednetworkname", "string", "the name of the Network associated with the IP address"),
    ("networkid", "string", "the ID of the Network where ip belongs to"),
    ("state", "string", "State of the ip address. Can be: Allocating, Allocated and Releasing"),
    ("tags", "list", "the list of resource tags associated with ip address"),
];

#[rustfmt::skip]
const PF_RULE: &[Field] = &[
    ("id", "string", "the ID of the port forwarding rule"),
    ("privateport", "string", "the starting port of port forwarding rule's private port range"),
    ("privateendport", "string", "the ending port of port forwarding rule's private port range"),
    ("protocol", "string", "the protocol of the port forwarding rule"),
    ("publicport", "string", "the starting port of port forwarding rule's public port range"),
    ("publicendport", "string", "the ending port of port forwarding rule's private port range"),
    ("virtualmachineid", "string", "the VM ID for the port forwarding rule"),
    ("ipaddressid", "string", "the public ip address id for the port forwarding rule"),
    ("ipaddress", "string", "the public ip address for the port forwarding rule"),
    ("state", "string", "the state of the rule"),
];

#[rustfmt::skip]
const IPF_RULE: &[Field] = &[
    ("id", "string", "the ID of the port forwarding rule"),
    ("protocol", "string", "the protocol of the port forwarding rule"),
    ("startport", "integer", "the starting port of port forwarding rule's private port range"),
    ("endport", "integer", "the ending port of port forwarding rule's private port range"),
    ("virtualmachineid", "string", "the VM ID for the port forwarding rule"),
    ("ipaddressid", "string", "the public ip address id for the port forwarding rule"),
    ("ipaddress", "string", "the public ip address for the port forwarding rule"),
    ("state", "string", "the state of the rule"),
];

#[rustfmt::skip]
const NETWORK: &[Field] = &[
    ("id", "string", "the id of the network"),
    ("name", "string", "the name of the network"),
    ("displaytext", "string", "the displaytext of the network"),
    ("broadcastdomaintype", "string", "Broadcast domain type of the network"),
    ("traffictype", "string", "the traffic type of the network"),
    ("gateway", "string", "the network's gateway"),
    ("netmask", "string", "the network's netmask"),
    ("cidr", "string", "Cloudstack managed address space, all CloudStack managed VMs get IP address from CIDR"),
    ("zoneid", "string", "zone id of the network"),
    ("zonename", "string", "the name of the zone the network belongs to"),
    ("networkofferingid", "string", "network offering id the network is created from"),
    ("networkofferingname", "string", "name of the network offering the network is created from"),
    ("state", "string", "state of the network"),
    ("type", "string", "the type of the network"),
    ("isdefault", "boolean", "true if network is default, false otherwise"),
    ("account", "string", "the owner of the network"),
    ("domainid", "string", "the domain id of the network owner"),
    ("domain", "string", "the domain name of the network owner"),
    ("issystem", "boolean", "true if network is system, false otherwise"),
    ("canusefordeploy", "boolean", "list networks available for vm deployment"),
    ("restartrequired", "boolean", "true network requires restart"),
    ("specifyipranges", "boolean", "true if network supports specifying ip ranges, false otherwise"),
    ("tags", "list", "the list of resource tags associated with network"),
];

#[rustfmt::skip]
const SSH_KEY: &[Field] = &[
    ("id", "string", "ID of the ssh keypair"),
    ("name", "string", "Name of the keypair"),
    ("fingerprint", "string", "Fingerprint of the public key"),
    ("account", "string", "the owner of the keypair"),
    ("domainid", "string", "the domain id of the keypair owner"),
    ("domain", "string", "the domain name of the keypair owner"),
];

#[rustfmt::skip]
const VOLUME: &[Field] = &[
    ("id", "string", "ID of the disk volume"),
    ("name", "string", "name of the disk volume"),
    ("zoneid", "string", "ID of the availability zone"),
    ("zonename", "string", "name of the availability zone"),
    ("type", "string", "type of the disk volume (ROOT or DATADISK)"),
    ("deviceid", "long", "the ID of the device on user vm the volume is attahed to. This tag is not returned when the volume is detached."),
    ("virtualmachineid", "string", "id of the virtual machine"),
    ("vmname", "string", "name of the virtual machine"),
    ("vmstate", "string", "state of the virtual machine"),
    ("size", "long", "size of the disk volume"),
    ("created", "date", "the date the disk volume was created"),
    ("state", "string", "the state of the disk volume"),
    ("account", "string", "the account associated with the disk volume"),
    ("domainid", "string", "the ID of the domain associated with the disk volume"),
    ("domain", "string", "the domain associated with the disk volume"),
    ("storagetype", "string", "shared or local storage"),
    ("hypervisor", "string", "Hypervisor the volume belongs to"),
    ("templateid", "string", "id of the template"),
    ("serviceofferingid", "string", "ID of the service offering for root disk"),
    ("destroyed", "boolean", "the boolean state of whether the volume is destroyed or not"),
    ("isextractable", "boolean", "true if the volume is extractable, false otherwise"),
];

#[rustfmt::skip]
const CAPABILITY: &[Field] = &[
    ("cloudstackversion", "string", "version of the cloud stack"),
    ("securitygroupsenabled", "boolean", "true if security groups support is enabled, false otherwise"),
    ("userpublictemplateenabled", "boolean", "true if user and domain admins can set templates to be shared, false otherwise"),
    ("supportELB", "string", "true if region supports elastic load balancer on basic zones"),
    ("projectinviterequired", "boolean", "If invitation confirmation is required when add account to project"),
    ("allowusercreateprojects", "boolean", "true if regular user is allowed to create projects"),
    ("customdiskofferingminsize", "long", "minimum size that can be specified when create disk from disk offering with custom size"),
    ("customdiskofferingmaxsize", "long", "maximum size that can be specified when create disk from disk offering with custom size"),
    ("kvmsnapshotenabled", "boolean", "true if snapshot is supported for KVM host, false otherwise"),
    ("apilimitinterval", "integer", "time interval (in seconds) to reset api count"),
    ("apilimitmax", "integer", "Max allowed number of api requests within the specified interval"),
    ("allowuserviewdestroyedvm", "boolean", "true if the user is allowed to view destroyed virtualmachines, false otherwise"),
    ("allowuserexpungerecovervm", "boolean", "true if the user can recover and expunge virtualmachines, false otherwise"),
    ("dynamicscalingenabled", "boolean", "true if dynamically scaling for instances is enabled"),
];

const ID: Param = ("id", "uuid", true, 255, "the ID of the object");

/// Every command, in `listApis` order.
#[rustfmt::skip]
pub(crate) const APIS: &[Api] = &[
    Api {
        name: "listApis",
        isasync: false,
        since: "3.0.0",
        description: "lists all available apis on the server, provided by the Api Discovery plugin",
        params: &[&[("name", "string", false, 255, "API name")]],
        response: API,
    },
    Api {
        name: "listCapabilities",
        isasync: false,
        since: "",
        description: "Lists capabilities",
        params: &[],
        response: CAPABILITY,
    },
    Api {
        name: "listZones",
        isasync: false,
        since: "",
        description: "Lists zones",
        params: &[
            &[
                ("id", "uuid", false, 255, "the ID of the zone"),
                ("name", "string", false, 255, "the name of the zone"),
                ("available", "boolean", false, 255, "true if you want to retrieve all available Zones. False if you only want to return the Zones from which you have at least one VM. Default is false."),
                ("showcapacities", "boolean", false, 255, "flag to display the capacity of the zones"),
            ],
            PAGE,
        ],
        response: ZONE,
    },
    Api {
        name: "listHypervisors",
        isasync: false,
        since: "",
        description: "List hypervisors",
        params: &[&[(
            "zoneid",
            "uuid",
            false,
            255,
            "the zone id for listing hypervisors.",
        )]],
        response: HYPERVISOR,
    },
    Api {
        name: "listOsTypes",
        isasync: false,
        since: "",
        description: "Lists all supported OS types for this cloud.",
        params: &[
            &[
                ("id", "uuid", false, 255, "list by Os type Id"),
                ("oscategoryid", "uuid", false, 255, "list by Os Category id"),
                ("description", "string", false, 255, "list os by description"),
            ],
            PAGE,
        ],
        response: OSTYPE,
    },
    Api {
        name: "listServiceOfferings",
        isasync: false,
        since: "",
        description: "Lists all available service offerings.",
        params: &[
            &[
                ("id", "uuid", false, 255, "ID of the service offering"),
                ("name", "string", false, 255, "name of the service offering"),
                ("zoneid", "uuid", false, 255, "id of zone disk offering is associated with"),
                ("virtualmachineid", "uuid", false, 255, "the ID of the virtual machine. Pass this in if you want to see the available service offering that a virtual machine can be changed to."),
            ],
            PAGE,
        ],
        response: OFFERING,
    },
    Api {
        name: "listTemplates",
        isasync: false,
        since: "",
        description: "List all public, private, and privileged templates.",
        params: &[
            &[
                ("templatefilter", "string", true, 255, "possible values are \"featured\", \"self\", \"selfexecutable\",\"sharedexecutable\",\"executable\", and \"community\". * featured : templates that have been marked as featured and public. * self : templates that have been registered or created by the calling user. * selfexecutable : same as self, but only returns templates that can be used to deploy a new VM. * sharedexecutable : templates ready to be deployed that have been granted to the calling user by another user. * executable : templates that are owned by the calling user, or public templates, that can be used to deploy a VM. * community : templates that have been marked as public but not featured. * all : all templates (only usable by admins)."),
                ("id", "uuid", false, 255, "the template ID"),
                ("ids", "list", false, 255, "the IDs of the templates, mutually exclusive with id"),
                ("name", "string", false, 255, "the template name"),
                ("zoneid", "uuid", false, 255, "list templates by zoneId"),
                ("hypervisor", "string", false, 255, "the hypervisor for which to restrict the search"),
                ("arch", "string", false, 255, "the CPU arch of the template. Valid options are: x86_64, aarch64"),
                ("showremoved", "boolean", false, 255, "show removed templates as well"),
                ("showunique", "boolean", false, 255, "If set to true, list only unique templates across zones"),
            ],
            OWNER,
            PAGE,
        ],
        response: TEMPLATE,
    },
    Api {
        name: "registerTemplate",
        isasync: false,
        since: "",
        description: "Registers an existing template into the CloudStack cloud. ",
        params: &[&[
            ("name", "string", true, 255, "the name of the template"),
            ("url", "string", true, 2048, "the URL of where the template is hosted. Possible URL include http:// and https://"),
            ("format", "string", true, 255, "the format for the template. Possible values include QCOW2, RAW, VHD and OVA."),
            ("hypervisor", "string", true, 255, "the target hypervisor for the template"),
            ("ostypeid", "uuid", true, 255, "the ID of the OS Type that best represents the OS of this template."),
            ("displaytext", "string", false, 4096, "The display text of the template, defaults to the 'name'."),
            ("zoneid", "uuid", false, 255, "the ID of the zone the template is to be hosted on"),
            ("zoneids", "list", false, 255, "A list of zone ids where the template will be hosted. Use this parameter if the template needs to be registered to multiple zones in one go. Use zoneid if the template needs to be registered to only one zone.Passing only -1 to this will cause the template to be registered as a cross zone template and will be copied to all zones. "),
            ("checksum", "string", false, 255, "the checksum value of this template. The parameter containing the checksum will be considered a MD5sum if it is not prefixed\n and just a plain ascii/utf8 representation of a hexadecimal string. If it is required to\n use another algorithm the hexadecimal string is to be prefixed with a string of the form,\n \"{<algorithm>}\", not including the double quotes. In this <algorithm> is the exact string\n representing the java supported algorithm, i.e. MD5 or SHA-256. Note that java does not\n contain an algorithm called SHA256 or one called sha-256, only SHA-256."),
            ("arch", "string", false, 255, "the CPU arch of the template. Valid options are: x86_64, aarch64"),
            ("directdownload", "boolean", false, 255, "true if template should bypass Secondary Storage and be downloaded to Primary Storage on deployment"),
            ("deployasis", "boolean", false, 255, "(VMware only) true if VM deployments should preserve all the configurations defined for this template"),
            ("isextractable", "boolean", false, 255, "true if the template or its derivatives are extractable; default is false"),
            ("passwordenabled", "boolean", false, 255, "true if the template supports the password reset feature; default is false"),
            ("ispublic", "boolean", false, 255, "true if the template is available to all accounts; default is true"),
            ("isfeatured", "boolean", false, 255, "true if this template is a featured template, false otherwise"),
            ("isrouting", "boolean", false, 255, "true if the template type is routing i.e., if template is used to deploy router"),
            ("requireshvm", "boolean", false, 255, "true if this template requires HVM"),
            ("sshkeyenabled", "boolean", false, 255, "true if the template supports the sshkey upload feature; default is false"),
            ("isdynamicallyscalable", "boolean", false, 255, "true if template contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
            ("bits", "integer", false, 255, "32 or 64 bits support. 64 by default"),
            ("templatetag", "string", false, 255, "the tag for this template."),
            ("templatetype", "string", false, 255, "the type of the template. Valid options are: USER/VNF (for all users) and SYSTEM/ROUTING/BUILTIN (for admins only)."),
            ("details", "map", false, 255, "Template details in key/value pairs using format details[i].keyname=keyvalue. Example: details[0].hypervisortoolsversion=xenserver61"),
            ("account", "string", false, 255, "an optional accountName. Must be used with domainId."),
            ("domainid", "uuid", false, 255, "an optional domainId. If the account parameter is used, domainId must also be used."),
            ("projectid", "uuid", false, 255, "Register template for the project"),
        ]],
        response: TEMPLATE,
    },
    Api {
        name: "updateTemplate",
        isasync: false,
        since: "",
        description: "Updates attributes of a template.",
        params: &[&[
            ("id", "uuid", true, 255, "the ID of the image file"),
            ("name", "string", false, 255, "the name of the image file"),
            ("displaytext", "string", false, 4096, "the display text of the image"),
            ("ostypeid", "uuid", false, 255, "the ID of the OS type that best represents the OS of this image."),
            ("format", "string", false, 255, "the format for the image"),
            ("passwordenabled", "boolean", false, 255, "true if the image supports the password reset feature; default is false"),
            ("sshkeyenabled", "boolean", false, 255, "true if the template supports the sshkey upload feature; default is false"),
            ("isdynamicallyscalable", "boolean", false, 255, "true if template/ISO contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
            ("isrouting", "boolean", false, 255, "true if the template type is routing i.e., if template is used to deploy router"),
            ("requireshvm", "boolean", false, 255, "true if the template requires HVM, false otherwise; available only for updateTemplate API"),
            ("bootable", "boolean", false, 255, "true if image is bootable, false otherwise; available only for updateIso API"),
            ("sortkey", "integer", false, 255, "sort key of the template, integer"),
            ("arch", "string", false, 255, "the CPU arch of the template/ISO. Valid options are: x86_64, aarch64"),
            ("templatetype", "string", false, 255, "the type of the template. Valid options are: USER/VNF (for all users) and SYSTEM/ROUTING/BUILTIN (for admins only)."),
            ("details", "map", false, 255, "Details in key/value pairs using format details[i].keyname=keyvalue. Example: details[0].hypervisortoolsversion=xenserver61"),
            ("cleanupdetails", "boolean", false, 255, "optional boolean field, which indicates if details should be cleaned up or not (if set to true, details removed for this resource, details field ignored; if false or not set, no action)"),
        ]],
        response: TEMPLATE,
    },
    Api {
        name: "updateTemplatePermissions",
        isasync: false,
        since: "",
        description: "Updates a template visibility permissions. A public template is visible to all accounts within the same domain. A private template is visible only to the owner of the template. A privileged template is a private template with account permissions added. Only accounts specified under the template permissions are visible to them.",
        params: &[&[
            ("id", "uuid", true, 255, "the template ID"),
            ("isextractable", "boolean", false, 255, "true if the template/iso is extractable, false other wise. Can be set only by root admin"),
            ("isfeatured", "boolean", false, 255, "true for featured template/iso, false otherwise"),
            ("ispublic", "boolean", false, 255, "true for public template/iso, false for private templates/isos"),
            ("op", "string", false, 255, "permission operator (add, remove, reset)"),
            ("accounts", "list", false, 255, "a comma delimited list of accounts within caller's domain. If specified, \"op\" parameter has to be passed in."),
            ("projectids", "list", false, 255, "a comma delimited list of projects. If specified, \"op\" parameter has to be passed in."),
        ]],
        response: SUCCESS,
    },
    Api {
        name: "deleteTemplate",
        isasync: true,
        since: "",
        description: "Deletes a template from the system. All virtual machines using the deleted template will not be affected.",
        params: &[&[
            ID,
            ("zoneid", "uuid", false, 255, "the ID of zone of the template"),
            ("forced", "boolean", false, 255, "Force delete a template."),
        ]],
        response: SUCCESS,
    },
    Api {
        name: "extractTemplate",
        isasync: true,
        since: "",
        description: "Extracts a template",
        params: &[&[
            ID,
            ("mode", "string", true, 255, "the mode of extraction - HTTP_DOWNLOAD or FTP_UPLOAD"),
            ("zoneid", "uuid", false, 255, "the ID of the zone where the ISO is originally located"),
            ("url", "string", false, 2048, "the url to which the ISO would be extracted"),
        ]],
        response: EXTRACT,
    },
    Api {
        name: "deployVirtualMachine",
        isasync: true,
        since: "",
        description: "Creates and automatically starts a virtual machine based on a service offering, disk offering, and template.",
        params: &[&[
            ("serviceofferingid", "uuid", true, 255, "the ID of the service offering for the virtual machine"),
            ("templateid", "uuid", true, 255, "the ID of the template for the virtual machine"),
            ("zoneid", "uuid", true, 255, "availability zone for the virtual machine"),
            ("name", "string", false, 255, "host name for the virtual machine"),
            ("displayname", "string", false, 255, "an optional user generated name for the virtual machine"),
            ("group", "string", false, 255, "an optional group for the virtual machine"),
            ("networkids", "list", false, 255, "list of network ids used by virtual machine. Can't be specified with ipToNetworkList parameter"),
            ("ipaddress", "string", false, 255, "the ip address for default vm's network"),
            ("keypair", "string", false, 255, "name of the ssh key pair used to login to the virtual machine"),
            ("keypairs", "list", false, 255, "names of the ssh key pairs used to login to the virtual machine"),
            ("userdata", "string", false, 1_048_576, "an optional binary data that can be sent to the virtual machine upon a successful deployment. This binary data must be base64 encoded before adding it to the request."),
            ("startvm", "boolean", false, 255, "true if start vm after creating; defaulted to true if not specified"),
            ("hypervisor", "string", false, 255, "the hypervisor on which to deploy the virtual machine."),
            ("rootdisksize", "long", false, 255, "Optional field to resize root disk on deploy. Value is in GB."),
            ("diskofferingid", "uuid", false, 255, "the ID of the disk offering for the virtual machine."),
            ("securitygroupids", "list", false, 255, "comma separated list of security groups id that going to be applied to the virtual machine."),
            ("affinitygroupids", "list", false, 255, "comma separated list of affinity groups id that are going to be applied to the virtual machine."),
            ("details", "map", false, 255, "used to specify the parameters values for the variables in userdata."),
            ("account", "string", false, 255, "an optional account for the virtual machine. Must be used with domainId."),
            ("domainid", "uuid", false, 255, "an optional domainId for the virtual machine. If the account parameter is used, domainId must also be used."),
            ("projectid", "uuid", false, 255, "Deploy vm for the project"),
        ]],
        response: VM,
    },
    Api {
        name: "listVirtualMachines",
        isasync: false,
        since: "",
        description: "List the virtual machines owned by the account.",
        params: &[
            &[
                ("id", "uuid", false, 255, "the ID of the virtual machine"),
                ("ids", "list", false, 255, "the IDs of the virtual machines, mutually exclusive with id"),
                ("name", "string", false, 255, "name of the virtual machine (a substring match is made against the parameter value, data for all matching VMs will be returned)"),
                ("state", "string", false, 255, "state of the virtual machine. Possible values are: Running, Stopped, Present, Destroyed, Expunged. Present is used for the state equal not destroyed."),
                ("zoneid", "uuid", false, 255, "the availability zone ID"),
                ("templateid", "uuid", false, 255, "list vms by template"),
                ("networkid", "uuid", false, 255, "list by network id"),
                ("serviceofferingid", "uuid", false, 255, "list by the service offering"),
                ("hypervisor", "string", false, 255, "the target hypervisor for the template"),
                ("details", "list", false, 255, "comma separated list of vm details requested, value can be a list of [all, group, nics, stats, secgrp, tmpl, servoff, diskoff, backoff, iso, volume, min, affgrp]. When no parameters are passed, all the details are returned if list.vm.default.details.stats is true (default), otherwise when list.vm.default.details.stats is false the API response will exclude the stats details."),
            ],
            OWNER,
            PAGE,
        ],
        response: VM,
    },
    Api {
        name: "startVirtualMachine",
        isasync: true,
        since: "",
        description: "Starts a virtual machine.",
        params: &[&[ID]],
        response: VM,
    },
    Api {
        name: "stopVirtualMachine",
        isasync: true,
        since: "",
        description: "Stops a virtual machine.",
        params: &[&[
            ID,
            ("forced", "boolean", false, 255, "Force stop the VM (vm is marked as Stopped even when command fails to be send to the backend, otherwise a force poweroff is attempted). To be used if the caller knows the VM is stopped and should be marked as such."),
        ]],
        response: VM,
    },
    Api {
        name: "rebootVirtualMachine",
        isasync: true,
        since: "",
        description: "Reboots a virtual machine.",
        params: &[&[
            ID,
            ("forced", "boolean", false, 255, "Force reboot the VM (VM is Stopped and then Started)"),
        ]],
        response: VM,
    },
    Api {
        name: "destroyVirtualMachine",
        isasync: true,
        since: "",
        description: "Destroys a virtual machine. Once destroyed, only the administrator can recover it.",
        params: &[&[
            ID,
            ("expunge", "boolean", false, 255, "If true is passed, the vm is expunged immediately. False by default."),
            ("volumeids", "list", false, 255, "Comma separated list of UUIDs for volumes that will be deleted"),
        ]],
        response: VM,
    },
    Api {
        name: "expungeVirtualMachine",
        isasync: true,
        since: "",
        description: "Expunge a virtual machine. Once expunged, it cannot be recoverd.",
        params: &[&[ID]],
        response: SUCCESS,
    },
    Api {
        name: "recoverVirtualMachine",
        isasync: false,
        since: "",
        description: "Recovers a virtual machine.",
        params: &[&[ID]],
        response: VM,
    },
    Api {
        name: "listVolumes",
        isasync: false,
        since: "",
        description: "Lists all volumes.",
        params: &[
            &[
                ("id", "uuid", false, 255, "the ID of the disk volume"),
                ("name", "string", false, 255, "the name of the disk volume"),
                ("type", "string", false, 255, "the type of disk volume"),
                ("virtualmachineid", "uuid", false, 255, "the ID of the virtual machine"),
                ("zoneid", "uuid", false, 255, "the ID of the availability zone"),
            ],
            OWNER,
            PAGE,
        ],
        response: VOLUME,
    },
    Api {
        name: "listNetworks",
        isasync: false,
        since: "",
        description: "Lists all available networks.",
        params: &[
            &[
                ("id", "uuid", false, 255, "list networks by ID"),
                ("name", "string", false, 255, "list network by name"),
                ("zoneid", "uuid", false, 255, "the zone ID of the network"),
                ("type", "string", false, 255, "the type of the network. Supported values are: isolated, l2, shared and all"),
                ("isdefault", "boolean", false, 255, "true if network is default, false otherwise"),
                ("issystem", "boolean", false, 255, "true if network is system, false otherwise"),
                ("traffictype", "string", false, 255, "type of the traffic"),
                ("canusefordeploy", "boolean", false, 255, "list networks available for VM deployment"),
                ("restartrequired", "boolean", false, 255, "list networks by restartRequired"),
                ("vpcid", "uuid", false, 255, "List networks by VPC"),
            ],
            OWNER,
            PAGE,
        ],
        response: NETWORK,
    },
    Api {
        name: "listPublicIpAddresses",
        isasync: false,
        since: "",
        description: "Lists all public IP addresses",
        params: &[
            &[
                ("id", "uuid", false, 255, "lists IP address by ID"),
                ("ipaddress", "string", false, 255, "lists the specified IP address"),
                ("zoneid", "uuid", false, 255, "lists all public IP addresses by zone ID"),
                ("associatednetworkid", "uuid", false, 255, "lists all public IP addresses associated to the network specified"),
                ("issourcenat", "boolean", false, 255, "list only source NAT IP addresses"),
                ("isstaticnat", "boolean", false, 255, "list only static NAT IP addresses"),
                ("allocatedonly", "boolean", false, 255, "limits search results to allocated public IP addresses"),
                ("forvirtualnetwork", "boolean", false, 255, "the virtual network for the IP address"),
                ("vpcid", "uuid", false, 255, "List IPs belonging to the VPC"),
            ],
            OWNER,
            PAGE,
        ],
        response: PUBLIC_IP,
    },
    Api {
        name: "listPortForwardingRules",
        isasync: false,
        since: "",
        description: "Lists all port forwarding rules for an IP address.",
        params: &[
            &[
                ("id", "uuid", false, 255, "Lists rule with the specified ID."),
                ("ipaddressid", "uuid", false, 255, "the ID of IP address of the port forwarding services"),
                ("networkid", "uuid", false, 255, "list port forwarding rules for certain network"),
            ],
            OWNER,
            PAGE,
        ],
        response: PF_RULE,
    },
    Api {
        name: "listIpForwardingRules",
        isasync: false,
        since: "",
        description: "List the IP forwarding rules",
        params: &[
            &[
                ("id", "uuid", false, 255, "Lists rule with the specified ID."),
                ("ipaddressid", "uuid", false, 255, "list the rule belonging to this public IP address"),
                ("virtualmachineid", "uuid", false, 255, "Lists all rules applied to the specified VM."),
            ],
            OWNER,
            PAGE,
        ],
        response: IPF_RULE,
    },
    Api {
        name: "listSSHKeyPairs",
        isasync: false,
        since: "",
        description: "List registered keypairs",
        params: &[
            &[
                ("id", "uuid", false, 255, "the ID of the ssh keypair"),
                ("name", "string", false, 255, "A key pair name to look for"),
                ("fingerprint", "string", false, 255, "A public key fingerprint to look for"),
            ],
            OWNER,
            PAGE,
        ],
        response: SSH_KEY,
    },
    Api {
        name: "queryAsyncJobResult",
        isasync: false,
        since: "",
        description: "Retrieves the current status of asynchronous job.",
        params: &[&[("jobid", "uuid", true, 255, "the ID of the asynchronous job")]],
        response: JOB,
    },
    Api {
        name: "listAsyncJobs",
        isasync: false,
        since: "",
        description: "Lists all pending asynchronous jobs for the account.",
        params: &[
            &[(
                "startdate",
                "date",
                false,
                255,
                "The start date of the async job (use format \"yyyy-MM-dd'T'HH:mm:ss'+'SSSS\")",
            )],
            OWNER,
            PAGE,
        ],
        response: JOB,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<_> = APIS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), APIS.len(), "a command is declared twice");
        for a in APIS {
            let mut p: Vec<_> = a.all_params().map(|p| p.0).collect();
            p.sort_unstable();
            p.dedup();
            assert_eq!(
                p.len(),
                a.all_params().count(),
                "{}: a parameter twice",
                a.name
            );
            assert!(!a.response.is_empty(), "{}: no response fields", a.name);
            for (_, ty, ..) in a.all_params() {
                assert!(
                    [
                        "string", "uuid", "boolean", "integer", "long", "list", "map", "date"
                    ]
                    .contains(ty),
                    "{}: type {ty}",
                    a.name
                );
            }
        }
        assert!(find("listZones").is_some());
        assert!(find("listzones").is_none());
    }
}
